import { EventEmitter } from 'node:events';
import * as grpc from '@grpc/grpc-js';
import type { H2Stream, StreamHandler } from '../h2/stream';

/** How one method's messages become bytes and back (proto-loader's serializers fit). */
export interface MessageCodec<Req, Res> {
  decode(bytes: Buffer): Req;
  encode(message: Res): Buffer;
  /**
   * The whole length-prefixed message in parts, when the codec can do better than one buffer: large
   * parts it shares between calls go out as they are, never copied (they must not change after).
   */
  frame?(message: Res): readonly Buffer[];
}

/** The verified client certificate, in the shape grpc-js's auth context gives it. */
export type PeerCertificate = { subjectaltname?: string; subject?: { CN?: unknown } };

const RESPONSE_HEADERS = [':status', '200', 'content-type', 'application/grpc'];
const HEADER = 5;

/** grpc-message: percent-encoded outside printable ASCII (and '%' itself), as the gRPC spec says. */
export function encodeGrpcMessage(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The trailer fields that end a call with `code` and `details`. */
export function statusFields(code: number, details: string): string[] {
  const fields = ['grpc-status', String(code)];
  // A status message is for people: a NACK's whole error detail need not travel back with it.
  if (details !== '')
    fields.push(
      'grpc-message',
      encodeGrpcMessage(details.length > 4096 ? `${details.slice(0, 4096)}…` : details),
    );
  return fields;
}

/**
 * A bidirectional-streaming gRPC call served on our HTTP/2 layer, shaped as grpc-js's server duplex
 * stream is where the services use it (`metadata`, `getPeer`, `getAuthContext`, `write`, `end`,
 * `sendMetadata`, the 'data', 'end', 'cancelled' and 'close' events, and `emit('error', status)` to end
 * the call with a status), so stream admission and the xDS server take either.
 *
 * Contracts: a message is delivered whole once its length-prefixed bytes have arrived; one longer than
 * `maxMessageBytes` or compressed (we announce no encoding) ends the call RESOURCE_EXHAUSTED /
 * UNIMPLEMENTED before it is kept. Exactly one status goes out; 'close' follows it, or the peer's reset.
 */
export class H2GrpcCall<Req, Res> extends EventEmitter implements StreamHandler {
  private madeMetadata: grpc.Metadata | undefined;
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** The length of the message being received, or -1 while its prefix has not all come. */
  private want = -1;
  private finished = false;

  constructor(
    private readonly stream: H2Stream,
    private readonly codec: MessageCodec<Req, Res>,
    private readonly peer: string,
    private readonly certificate: PeerCertificate | undefined,
    private readonly maxMessageBytes: number,
  ) {
    super();
  }

  /**
   * The caller's header fields as grpc-js Metadata, made when first asked (admission reads it once): a
   * stream that lives for hours need not keep a second copy of its headers.
   */
  get metadata(): grpc.Metadata {
    if (this.madeMetadata === undefined) {
      const metadata = (this.madeMetadata = new grpc.Metadata());
      const h = this.stream.headers;
      for (let i = 0; i < h.length; i += 2) {
        const name = h[i];
        if (name.charCodeAt(0) === 58 /* ':' */ || name === 'te' || name === 'content-type') continue;
        if (name.endsWith('-bin')) metadata.add(name, Buffer.from(h[i + 1], 'base64'));
        else metadata.add(name, h[i + 1]);
      }
    }
    return this.madeMetadata;
  }

  /** A text header's first value (names in lower case), without building the call's metadata. */
  headerValue(name: string): string | undefined {
    if (name.endsWith('-bin')) return undefined;
    const h = this.stream.headers;
    for (let i = 0; i < h.length; i += 2) if (h[i] === name) return h[i + 1];
    return undefined;
  }

  getPeer(): string {
    return this.peer;
  }

  getAuthContext(): { sslPeerCertificate?: PeerCertificate } | null {
    return this.certificate ? { sslPeerCertificate: this.certificate } : null;
  }

  get cancelled(): boolean {
    return this.stream.closed && !this.finished;
  }

  /** Response headers (once): a stream that is up but has nothing to send yet says so. */
  sendMetadata(_metadata?: grpc.Metadata): void {
    if (!this.stream.headersSent) this.stream.respond(RESPONSE_HEADERS, false);
  }

  write(message: Res): boolean {
    if (this.finished) return false;
    this.sendMetadata();
    if (this.codec.frame !== undefined) {
      let flowing = true;
      for (const part of this.codec.frame(message)) flowing = this.stream.write(part);
      return flowing;
    }
    const body = this.codec.encode(message);
    const frame = Buffer.allocUnsafe(HEADER + body.length);
    frame[0] = 0;
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, HEADER);
    return this.stream.write(frame);
  }

  /** Stops crediting the client's window: it may send what is left of it, then waits (flow control). */
  pause(): void {
    this.stream.pause();
  }

  resume(): void {
    this.stream.resume();
  }

  /** Ends the call with OK. */
  end(): void {
    this.finish(grpc.status.OK, '');
  }

  /** `emit('error', {code, details})` ends the call with that status, as on grpc-js's server calls. */
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error') {
      const status = args[0] as { code?: number; details?: string } | undefined;
      this.finish(status?.code ?? grpc.status.UNKNOWN, status?.details ?? '');
      return this.listenerCount('error') > 0 ? super.emit(event, ...args) : false;
    }
    return super.emit(event, ...args);
  }

  private finish(code: number, details: string): void {
    if (this.finished) return;
    this.finished = true;
    if (this.stream.closed) return;
    if (this.stream.headersSent) this.stream.end(statusFields(code, details));
    else this.stream.respond([...RESPONSE_HEADERS, ...statusFields(code, details)], true);
    super.emit('close');
  }

  onHeaders(_stream: H2Stream, _headers: readonly string[], endStream: boolean): void {
    // Request trailers carry nothing a service reads; they end the client's side.
    if (endStream) this.onEnd();
  }

  onData(_stream: H2Stream, chunk: Buffer): void {
    if (this.finished) return;
    this.parts.push(chunk);
    this.partBytes += chunk.length;
    while (!this.finished) {
      if (this.want < 0) {
        if (this.partBytes < HEADER) return;
        const head = this.take(HEADER);
        if (head[0] !== 0) {
          this.emit('error', {
            code: grpc.status.UNIMPLEMENTED,
            details: 'compressed messages are not accepted (no grpc-encoding is announced)',
          });
          return;
        }
        this.want = head.readUInt32BE(1);
        if (this.want > this.maxMessageBytes) {
          this.emit('error', {
            code: grpc.status.RESOURCE_EXHAUSTED,
            details: `a message of ${this.want} bytes is over the limit of ${this.maxMessageBytes}`,
          });
          return;
        }
      }
      if (this.partBytes < this.want) return;
      const bytes = this.take(this.want);
      this.want = -1;
      let message: Req;
      try {
        message = this.codec.decode(bytes);
      } catch (err) {
        this.emit('error', {
          code: grpc.status.INTERNAL,
          details: `a message that does not decode: ${err instanceof Error ? err.message : String(err)}`,
        });
        return;
      }
      super.emit('data', message);
    }
  }

  onEnd(): void {
    if (!this.finished) super.emit('end');
  }

  onReset(): void {
    if (this.finished) return;
    this.finished = true;
    super.emit('cancelled');
    super.emit('close');
  }

  onDrain(): void {
    // Responses queue in the stream until the client's window opens; xDS keeps one in flight per type.
  }

  /** The first `n` bytes received, as one buffer. */
  private take(n: number): Buffer {
    const all = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.partBytes);
    const out = all.subarray(0, n);
    const rest = all.subarray(n);
    this.parts = rest.length > 0 ? [rest] : [];
    this.partBytes = rest.length;
    return out;
  }
}
