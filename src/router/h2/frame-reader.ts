import { Buffer } from 'node:buffer';
import { ConnectionError, ErrorCode, FRAME_HEADER } from './frames';

/** Receives each whole frame: its payload is a view of the bytes read, valid only until the sink returns. */
export type FrameSink = (type: number, flags: number, id: number, payload: Buffer) => void;

/**
 * Splits the bytes of a connection into frames. Payloads are views of the chunk pushed, never copied,
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

  push(chunk: Buffer): void {
    let buf = chunk;
    if (this.pending !== undefined) {
      buf = Buffer.concat([this.pending, chunk]);
      this.pending = undefined;
    }
    let at = 0;
    const end = buf.length;
    while (end - at >= FRAME_HEADER) {
      const length = (buf[at] << 16) | (buf[at + 1] << 8) | buf[at + 2];
      if (length > this.maxFrameSize)
        throw new ConnectionError(
          ErrorCode.FRAME_SIZE_ERROR,
          `frame of ${length} bytes exceeds SETTINGS_MAX_FRAME_SIZE ${this.maxFrameSize}`,
        );
      const next = at + FRAME_HEADER + length;
      if (next > end) break;
      const id = buf.readUInt32BE(at + 5) & 0x7fffffff;
      this.sink(buf[at + 3], buf[at + 4], id, buf.subarray(at + FRAME_HEADER, next));
      at = next;
    }
    // A joined buffer is ours already; a chunk pushed is not ours past this call.
    if (at < end) this.pending = buf !== chunk ? buf.subarray(at) : Buffer.from(buf.subarray(at));
  }
}
