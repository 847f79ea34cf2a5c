import { H2ClientConnection } from './h2/client';
import type { H2Stream, StreamHandler } from './h2/stream';
import { CODE_NAMES } from './grpc-codes';

/** grpc.health.v1 ServingStatus by its number. */
const SERVING_STATUS = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'];

/** A HealthCheckRequest with service "" is an empty message: its gRPC frame is five zero bytes. */
const CHECK_FRAME = Buffer.alloc(5);

/** What a check found: SERVING, another serving status, or an error ("CODE: details"). */
export type ProbeResult = { readonly status: string } | { readonly error: string };

/**
 * grpc.health.v1.Health/Check against one address, over one HTTP/2 connection kept between checks
 * (the router's own HTTP/2 layer: a request costs a header block and two small frames, where a
 * general gRPC client costs a few hundred microseconds of CPU). One check at a time per probe (the
 * checker's rule). A connection that fails or lets a check time out is dropped; the next check
 * connects afresh.
 */
export class HealthProbe implements StreamHandler {
  private conn: H2ClientConnection | undefined;
  private readonly headers: readonly string[];
  private done: ((result: ProbeResult) => void) | undefined;
  private stream: H2Stream | undefined;
  private httpStatus = '';
  private grpcStatus = '';
  private grpcMessage = '';
  private body: Buffer | undefined;

  constructor(readonly address: string) {
    this.headers = [
      ':method',
      'POST',
      ':scheme',
      'http',
      ':path',
      '/grpc.health.v1.Health/Check',
      ':authority',
      address,
      'content-type',
      'application/grpc',
      'te',
      'trailers',
    ];
  }

  /**
   * Starts a check; `done` runs once, later (never within this call), with what it found. The caller
   * times it: the returned function ends it as timed out (dropping the connection: it may be stuck).
   */
  check(done: (result: ProbeResult) => void): (timeoutMs: number) => void {
    this.done = done;
    this.httpStatus = this.grpcStatus = this.grpcMessage = '';
    this.body = undefined;
    try {
      const conn = this.connect();
      this.stream = conn.request(this.headers, undefined, this);
      this.stream.write(CHECK_FRAME);
      this.stream.end();
    } catch (err) {
      this.drop('cannot open a stream');
      process.nextTick(() => this.finish({ error: `UNAVAILABLE: ${(err as Error).message}` }));
    }
    return (timeoutMs) => {
      if (this.done !== done) return;
      this.finish({ error: `DEADLINE_EXCEEDED: no answer within ${timeoutMs} ms` });
      this.drop('check timed out');
    };
  }

  close(): void {
    this.drop('probe closed');
  }

  onHeaders(_stream: H2Stream, headers: readonly string[], endStream: boolean): void {
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      if (name === ':status') this.httpStatus = headers[i + 1];
      else if (name === 'grpc-status') this.grpcStatus = headers[i + 1];
      else if (name === 'grpc-message') this.grpcMessage = headers[i + 1];
    }
    if (endStream) this.onEnd();
  }

  onData(_stream: H2Stream, chunk: Buffer): void {
    this.body = this.body ? Buffer.concat([this.body, chunk]) : chunk;
  }

  onEnd(): void {
    if (this.httpStatus !== '' && this.httpStatus !== '200')
      return this.finish({ error: `UNAVAILABLE: HTTP status ${this.httpStatus}` });
    if (this.grpcStatus === '')
      return this.finish({ error: 'UNAVAILABLE: the answer ended without a status' });
    if (this.grpcStatus !== '0') {
      const code = CODE_NAMES[Number(this.grpcStatus)] ?? `code ${this.grpcStatus}`;
      return this.finish({ error: `${code}: ${decodeMessage(this.grpcMessage)}` });
    }
    this.finish(servingStatus(this.body));
  }

  onReset(_stream: H2Stream, _code: number, why: string): void {
    this.finish({ error: `UNAVAILABLE: ${why}` });
  }

  onDrain(): void {}

  private finish(result: ProbeResult): void {
    const done = this.done;
    if (!done) return;
    this.done = undefined;
    this.stream = undefined;
    done(result);
  }

  private connect(): H2ClientConnection {
    if (this.conn && this.conn.available) return this.conn;
    if (this.conn) this.drop('connection closing');
    const colon = this.address.lastIndexOf(':');
    const host = this.address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
    const conn = H2ClientConnection.connect(host, Number(this.address.slice(colon + 1)));
    conn.onClose = () => {
      if (this.conn === conn) this.conn = undefined;
    };
    this.conn = conn;
    return conn;
  }

  private drop(why: string): void {
    const conn = this.conn;
    this.conn = undefined;
    conn?.destroy(why);
  }
}

/** A HealthCheckResponse's status: field 1 (tag 0x08), a varint; absent means UNKNOWN (0). */
function servingStatus(body: Buffer | undefined): ProbeResult {
  if (!body || body.length < 5) return { error: 'UNAVAILABLE: no response message' };
  const length = body.readUInt32BE(1);
  const message = body.subarray(5, 5 + length);
  for (let i = 0; i < message.length;) {
    const tag = message[i++];
    if (tag === 0x08) return { status: SERVING_STATUS[message[i]] ?? `status ${message[i]}` };
    // Another field: skip it (a varint, or length-delimited).
    if ((tag & 7) === 0) while (i < message.length && message[i++] & 0x80);
    else if ((tag & 7) === 2) i += 1 + message[i];
    else break;
  }
  return { status: 'UNKNOWN' };
}

function decodeMessage(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
