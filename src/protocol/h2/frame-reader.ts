import { Buffer } from 'node:buffer';
import { ConnectionError, ErrorCode, FRAME_HEADER } from './frames';

/**
 * Receives each whole frame: its payload is buf[start, end), bytes read, valid only until the sink returns
 * (no view is made per frame: the sink makes one if it needs it).
 */
export type FrameSink = (
  type: number,
  flags: number,
  id: number,
  buf: Buffer,
  start: number,
  end: number,
) => void;

/**
 * Splits the bytes of a connection into frames. Payloads are ranges of the chunk pushed, never copied,
 * except when a frame arrives across reads: its start is copied (the chunk is the shared read buffer, see
 * socket-reads.ts) and joined with the rest once it has come.
 */
export class FrameReader {
  /** A frame begun in an earlier read: sized to the whole frame once its header is known. */
  private pending: Buffer | undefined;
  /** Bytes of `pending` filled. */
  private have = 0;
  /** Whole frames read so far (the sweeper tells a frame dripped in slowly by it). */
  framesRead = 0;

  constructor(
    private readonly sink: FrameSink,
    /** Our SETTINGS_MAX_FRAME_SIZE: a longer frame is a FRAME_SIZE_ERROR. */
    private readonly maxFrameSize: number,
  ) {}

  /** Bytes of a frame begun and not yet whole. */
  get pendingBytes(): number {
    return this.pending === undefined ? 0 : this.have;
  }

  /** The bytes chunk[0, length). */
  push(chunk: Buffer, length = chunk.length): void {
    let at = 0;
    if (this.pending !== undefined) {
      at = this.fill(chunk, length);
      if (this.pending !== undefined) return; // all of it went into the frame begun
    }
    while (length - at >= FRAME_HEADER) {
      const size = this.sizeAt(chunk, at);
      const next = at + FRAME_HEADER + size;
      if (next > length) break;
      this.dispatch(chunk, at, next);
      at = next;
    }
    if (at < length) this.begin(chunk, at, length);
  }

  private sizeAt(buf: Buffer, at: number): number {
    const size = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
    if (size > this.maxFrameSize)
      throw new ConnectionError(
        ErrorCode.FRAME_SIZE_ERROR,
        `frame of ${size} bytes exceeds SETTINGS_MAX_FRAME_SIZE ${this.maxFrameSize}`,
      );
    return size;
  }

  private dispatch(buf: Buffer, at: number, next: number): void {
    // The reserved bit dropped: below 2^31, so the shift stays positive.
    const id = ((buf[at + 5] & 0x7f) << 24) | (buf[at + 6] << 16) | (buf[at + 7] << 8) | buf[at + 8];
    this.framesRead++;
    this.sink(buf[at + 3], buf[at + 4], id, buf, at + FRAME_HEADER, next);
  }

  /** chunk[at, end) starts a frame that is not whole: copied (the chunk is not ours past the call). */
  private begin(chunk: Buffer, at: number, end: number): void {
    const n = end - at;
    const whole = n >= FRAME_HEADER ? FRAME_HEADER + this.sizeAt(chunk, at) : FRAME_HEADER;
    this.pending = Buffer.allocUnsafe(whole);
    chunk.copy(this.pending, 0, at, end);
    this.have = n;
  }

  /**
   * Adds the start of chunk[0, length) to the frame begun, and hands it on once whole; returns the bytes
   * used. Filling a buffer of the frame's size costs each byte one copy, however slowly it drips in.
   */
  private fill(chunk: Buffer, length: number): number {
    let p = this.pending!;
    let used = 0;
    if (this.have < FRAME_HEADER) {
      used = Math.min(FRAME_HEADER - this.have, length);
      chunk.copy(p, this.have, 0, used);
      this.have += used;
      if (this.have < FRAME_HEADER) return used;
      const size = this.sizeAt(p, 0);
      if (size > 0) {
        const whole = Buffer.allocUnsafe(FRAME_HEADER + size);
        p.copy(whole, 0, 0, FRAME_HEADER);
        this.pending = p = whole;
      }
    }
    const take = Math.min(p.length - this.have, length - used);
    chunk.copy(p, this.have, used, used + take);
    this.have += take;
    used += take;
    if (this.have === p.length) {
      this.pending = undefined;
      this.have = 0;
      this.dispatch(p, 0, p.length);
    }
    return used;
  }
}
