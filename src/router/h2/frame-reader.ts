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
  private pending: Buffer | undefined;

  constructor(
    private readonly sink: FrameSink,
    /** Our SETTINGS_MAX_FRAME_SIZE: a longer frame is a FRAME_SIZE_ERROR. */
    private readonly maxFrameSize: number,
  ) {}

  /** The bytes chunk[0, length). */
  push(chunk: Buffer, length = chunk.length): void {
    let buf = chunk;
    let end = length;
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, chunk.subarray(0, length)]);
      end = buf.length;
      this.pending = undefined;
    }
    let at = 0;
    while (end - at >= FRAME_HEADER) {
      const size = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
      if (size > this.maxFrameSize)
        throw new ConnectionError(
          ErrorCode.FRAME_SIZE_ERROR,
          `frame of ${size} bytes exceeds SETTINGS_MAX_FRAME_SIZE ${this.maxFrameSize}`,
        );
      const next = at + FRAME_HEADER + size;
      if (next > end) break;
      // The reserved bit dropped: below 2^31, so the shift stays positive.
      const id = ((buf[at + 5] & 0x7f) << 24) | (buf[at + 6] << 16) | (buf[at + 7] << 8) | buf[at + 8];
      this.sink(buf[at + 3], buf[at + 4], id, buf, at + FRAME_HEADER, next);
      at = next;
    }
    // A joined buffer is ours already; a chunk pushed is not ours past this call.
    if (at < end) this.pending = buf !== chunk ? buf.subarray(at) : Buffer.from(buf.subarray(at, end));
  }
}
