import type { H2ClientConnection } from '../h2/client';
import { ErrorCode } from '../h2/frames';
import type { H2Stream, StreamHandler } from '../h2/stream';

/**
 * One stream passed on to another connection, and its answer back: bytes as they come (nothing is
 * decoded), each side's backpressure passed to the other (a side that cannot take more pauses the
 * other's credit), a reset on either side resetting the other. One object handles both streams.
 */
export class ForwardedStream implements StreamHandler {
  private up: H2Stream | undefined;

  constructor(private readonly down: H2Stream) {}

  /** Opens the stream upstream with `headers` plus `extra` fields; the client's bytes follow. */
  open(conn: H2ClientConnection, headers: readonly string[], extra: readonly string[]): void {
    this.up = conn.request(headers, extra, this);
    this.down.attach(this);
  }

  onHeaders(stream: H2Stream, headers: readonly string[], endStream: boolean): void {
    if (stream === this.down) {
      // Request trailers: gRPC clients send none, but they end the request like DATA with END_STREAM.
      if (endStream) this.up?.end();
      return;
    }
    if (!this.down.headersSent) this.down.respond(headers, endStream);
    else this.down.end(headers);
  }

  onData(stream: H2Stream, chunk: Buffer): void {
    if (stream === this.down) {
      if (this.up !== undefined && !this.up.write(chunk)) this.down.pause();
    } else if (!this.down.write(chunk)) this.up?.pause();
  }

  onEnd(stream: H2Stream): void {
    if (stream === this.down) this.up?.end();
    else this.down.end();
  }

  onReset(stream: H2Stream, code: number): void {
    const other = stream === this.down ? this.up : this.down;
    other?.reset(stream === this.down ? ErrorCode.CANCEL : code || ErrorCode.INTERNAL_ERROR);
  }

  onDrain(stream: H2Stream): void {
    if (stream === this.down) this.up?.resume();
    else this.down.resume();
  }
}
