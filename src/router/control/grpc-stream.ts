import { EventEmitter } from 'node:events';
import * as http2 from 'node:http2';
import { type Keepalive, keepAlive } from '../net/keepalive';
import { type ClientCredentials, clientTlsOptions } from '../../security/tls-files';

const { NGHTTP2_FLAG_END_STREAM } = http2.constants;
const UNAVAILABLE = 14;
const INTERNAL = 13;
const RESOURCE_EXHAUSTED = 8;
/**
 * The largest message a control stream takes (gRPC's default is 4 MiB; an xDS response for a large
 * fleet can be bigger). A longer length prefix ends the call RESOURCE_EXHAUSTED before any of it is kept.
 */
const DEFAULT_MAX_MESSAGE_BYTES = 64 << 20;

/** A failed call: the gRPC status code and message. */
export class StreamError extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export interface StreamEvents<Res> {
  /** The server sent its response headers (HTTP 200): the call is up. */
  headers: [];
  data: [message: Res];
  /** The call ended with a status other than OK, or the connection failed. */
  error: [err: StreamError];
  /** The call ended with OK. */
  end: [];
}

/**
 * One gRPC bidirectional-streaming call over its own node:http2 connection, for the router's control
 * traffic (ADS, load reports): length-prefixed messages both ways, status from trailers, a PING every
 * keepalive.timeMs that must come back within timeoutMs. The router needs nothing more of a gRPC library,
 * and not loading one keeps it about 12 MB smaller. Exactly one of 'error' or 'end' is emitted.
 */
export class GrpcBidiStream<Req, Res> extends EventEmitter<StreamEvents<Res>> {
  private readonly session: http2.ClientHttp2Session;
  private readonly stream: http2.ClientHttp2Stream;
  private readonly stopPings: () => void;
  /** Bytes of a message not yet whole: chunks joined once, when the message is complete. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private finished = false;

  constructor(
    address: string,
    path: string,
    private readonly encode: (message: Req) => Uint8Array,
    private readonly decode: (bytes: Uint8Array) => Res,
    keepalive: Keepalive,
    credentials: ClientCredentials = {},
    private readonly maxMessageBytes = DEFAULT_MAX_MESSAGE_BYTES,
  ) {
    super();
    this.session = credentials.tls
      ? http2.connect(`https://${address}`, clientTlsOptions(credentials.tls))
      : http2.connect(`http://${address}`);
    this.session.on('error', (err) => this.fail(UNAVAILABLE, err.message));
    this.stopPings = keepAlive(this.session, keepalive, (why) => this.fail(UNAVAILABLE, why));
    this.stream = this.session.request({
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
      ...(credentials.token && { authorization: `Bearer ${credentials.token}` }),
    });
    this.stream.on('response', (headers, flags) => {
      const status = headers[':status'];
      if (status !== 200) this.fail(UNAVAILABLE, `HTTP status ${status} from ${address}`);
      else if (flags & NGHTTP2_FLAG_END_STREAM) this.onStatus(headers);
      else this.emit('headers'); // the server answered: the stream is up, whether or not data follows
    });
    this.stream.on('data', (chunk: Buffer) => this.onData(chunk));
    this.stream.on('trailers', (trailers) => this.onStatus(trailers));
    this.stream.on('error', (err) => this.fail(UNAVAILABLE, err.message));
    this.stream.on('close', () => this.fail(UNAVAILABLE, `stream closed (code ${this.stream.rstCode})`));
  }

  write(message: Req): boolean {
    if (this.finished) return false;
    const body = this.encode(message);
    const frame = Buffer.allocUnsafe(5 + body.length);
    frame[0] = 0;
    frame.writeUInt32BE(body.length, 1);
    frame.set(body, 5);
    return this.stream.write(frame);
  }

  /** Half-closes: no more messages from this side. */
  end(): void {
    if (!this.stream.writableEnded) this.stream.end();
  }

  /** Ends the call and its connection; no event follows. */
  close(): void {
    this.finished = true;
    this.shutdown();
  }

  private onData(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < 5) return;
    const head = this.pending[0].length >= 5 ? this.pending[0] : Buffer.concat(this.pending);
    const first = head.readUInt32BE(1);
    if (first > this.maxMessageBytes)
      return this.fail(
        RESOURCE_EXHAUSTED,
        `a message of ${first} bytes exceeds the limit of ${this.maxMessageBytes} bytes`,
      );
    if (this.pendingBytes < 5 + first) return; // the message is not whole yet: nothing joined
    let buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    this.pending = [];
    this.pendingBytes = 0;
    while (buf.length >= 5) {
      const length = buf.readUInt32BE(1);
      if (length > this.maxMessageBytes)
        return this.fail(
          RESOURCE_EXHAUSTED,
          `a message of ${length} bytes exceeds the limit of ${this.maxMessageBytes} bytes`,
        );
      if (buf.length < 5 + length) break;
      if (buf[0] !== 0) return this.fail(INTERNAL, 'compressed messages are not supported');
      let message: Res;
      try {
        message = this.decode(buf.subarray(5, 5 + length));
      } catch (err) {
        return this.fail(INTERNAL, `cannot decode a message: ${(err as Error).message}`);
      }
      buf = buf.subarray(5 + length);
      if (!this.finished) this.emit('data', message);
    }
    if (buf.length > 0) {
      this.pending = [Buffer.from(buf)];
      this.pendingBytes = buf.length;
    }
  }

  private onStatus(headers: http2.IncomingHttpHeaders): void {
    if (this.finished) return;
    const code = Number(headers['grpc-status'] ?? 2);
    const raw = headers['grpc-message'];
    const message = typeof raw === 'string' ? percentDecoded(raw) : '';
    this.finished = true;
    this.shutdown();
    if (code === 0) this.emit('end');
    else this.emit('error', new StreamError(code, message || 'no message'));
  }

  private fail(code: number, message: string): void {
    if (this.finished) return;
    this.finished = true;
    this.shutdown();
    this.emit('error', new StreamError(code, message));
  }

  private shutdown(): void {
    this.stopPings();
    if (!this.stream.destroyed) this.stream.close(http2.constants.NGHTTP2_CANCEL);
    if (!this.session.destroyed) this.session.destroy();
  }
}

/** grpc-message is percent-encoded; a peer that got it wrong still has its text shown, as it came. */
function percentDecoded(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
