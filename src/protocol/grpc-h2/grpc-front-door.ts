import type * as net from 'node:net';
import { TLSSocket } from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { certificateIdentity } from '../../security/certificate-identity';
import { forwardedFields, isForwardedField } from '../../security/forwarded-peer';
import type { TlsFiles } from '../../security/tls-files';
import { H2ClientConnection } from '../h2/client';
import { pipePair } from '../h2/duplex-pair';
import { DEFAULT_LIMITS, type H2Limits } from '../h2/limits';
import { ReadBudget } from '../h2/read-budget';
import { H2Server } from '../h2/server';
import { readChunks } from '../h2/socket-reads';
import type { H2Stream } from '../h2/stream';
import { ForwardedStream } from './forwarded-stream';
import type { PeerCertificate } from './grpc-call';
import { statusFields } from './grpc-call';

/** Who is calling: the address as grpc-js writes it, and the verified client certificate (mTLS). */
export interface CallerInfo {
  readonly peer: string;
  readonly certificate: PeerCertificate | undefined;
}

/** Serves one method on our own HTTP/2 layer: the request stream, checked as gRPC, and its caller. */
export type NativeMethod = (stream: H2Stream, caller: CallerInfo) => void;

/**
 * What the control plane's port needs beyond the router's ingress: clients by the ten thousand each with
 * a stream that lives for hours, and nothing else competing for the port.
 */
export const FRONT_DOOR_LIMITS: H2Limits = { ...DEFAULT_LIMITS, maxConnections: 100_000 };

/** The in-process connection to grpc-js: its streams are every unary admin call, so it gets room. */
const INNER_LIMITS: H2Limits = {
  ...DEFAULT_LIMITS,
  maxConnectionMemory: 256 << 20,
  maxOutboundFrames: 100_000,
};

export interface FrontDoorOptions {
  /** Methods served here by path (`/package.Service/Method`). */
  readonly methods: ReadonlyMap<string, NativeMethod>;
  /** Everything else: a grpc-js server with its services added; it listens on no port of its own. */
  readonly fallback: grpc.Server;
  readonly limits?: H2Limits;
  readonly tls?: { readonly files: TlsFiles; readonly onReloadError: (err: Error) => void };
  readonly onInternalError?: (err: Error) => void;
  /** At most this long handling reads per turn of the event loop (read-budget.ts); none: unbounded. */
  readonly readSliceMs?: number;
  /** Whether sliced work the reads give way to is under way (a push: read-budget.ts). */
  readonly readsGiveWay?: () => boolean;
}

/**
 * One gRPC port on our own HTTP/2 layer. Methods that carry the fleet (xDS streams, by the ten
 * thousand) are served here at a fraction of node:http2's and grpc-js's memory per stream; every other
 * call is passed on, bytes as they come, to a grpc-js server over an in-process connection (no port:
 * nothing outside reaches it but through here), with the caller's address and certificate identity
 * vouched for in header fields (security/forwarded-peer.ts). TLS, mTLS and the connection limits are
 * the router ingress's own (h2/server.ts).
 */
export class GrpcFrontDoor {
  private readonly h2: H2Server;
  private readonly injector: grpc.ConnectionInjector;
  private readonly inner: H2ClientConnection[] = [];

  constructor(private readonly options: FrontDoorOptions) {
    this.injector = options.fallback.createConnectionInjector(grpc.ServerCredentials.createInsecure());
    this.h2 = new H2Server(
      (stream) => this.onStream(stream),
      options.onInternalError,
      options.limits ?? FRONT_DOOR_LIMITS,
      options.tls,
      // Responses share their large parts between streams (response-encoding.ts): written, never copied.
      (conn) => (conn.coalesceBytes = 0),
      options.readSliceMs === undefined
        ? undefined
        : new ReadBudget(options.readSliceMs, options.readsGiveWay),
    );
  }

  get stats() {
    return this.h2.stats;
  }

  listen(host: string, port: number): Promise<number> {
    const server = this.h2.server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      // A fleet reconnects at once after a restart: room for its connections before they are accepted.
      server.listen({ port, host, backlog: 4096 }, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /**
   * Stops accepting and asks every connection to finish (GOAWAY); what is still open after `graceMs` is
   * cut. The grpc-js side is shut down by its owner.
   */
  async close(graceMs: number): Promise<void> {
    for (const c of this.h2.connections) c.close();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.h2.close(),
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          for (const c of this.h2.connections) c.destroy('control plane shutting down');
          resolve();
        }, graceMs);
      }),
    ]);
    clearTimeout(timer);
    for (const c of this.inner) c.destroy('control plane shutting down');
    this.injector.destroy();
  }

  private onStream(stream: H2Stream): void {
    const path = field(stream.headers, ':path');
    const method = path === undefined ? undefined : this.options.methods.get(path);
    const socket = (stream.conn as unknown as { socket: net.Socket }).socket;
    if (method !== undefined) {
      if (!isGrpc(stream.headers)) {
        stream.respond([':status', '415', 'content-type', 'text/plain'], true);
        return;
      }
      method(stream, { peer: peerOf(socket), certificate: certificateOf(socket) });
      return;
    }
    const conn = this.innerConnection();
    if (conn === undefined) {
      stream.respond(
        [
          ':status',
          '200',
          'content-type',
          'application/grpc',
          ...statusFields(grpc.status.UNAVAILABLE, 'shutting down'),
        ],
        true,
      );
      return;
    }
    let headers = stream.headers;
    if (headers.some((v, i) => i % 2 === 0 && isForwardedField(v)))
      headers = headers.filter((_, i) =>
        i % 2 === 0 ? !isForwardedField(headers[i]) : !isForwardedField(headers[i - 1]),
      );
    new ForwardedStream(stream).open(
      conn,
      headers,
      forwardedFields(certificateIdentity(socket), peerOf(socket)),
    );
  }

  /** An in-process connection to grpc-js that takes another stream, opened when none does. */
  private innerConnection(): H2ClientConnection | undefined {
    for (const c of this.inner) if (c.available) return c;
    if (!this.h2.server.listening) return undefined;
    const [ours, theirs] = pipePair();
    let conn: H2ClientConnection | undefined = undefined;
    readChunks(ours as unknown as net.Socket, () => conn);
    conn = new H2ClientConnection(ours as unknown as net.Socket, INNER_LIMITS);
    const made = conn;
    made.onClose = () => {
      const i = this.inner.indexOf(made);
      if (i >= 0) this.inner.splice(i, 1);
    };
    this.inner.push(made);
    this.injector.injectConnection(theirs);
    return made;
  }
}

/** A field's value in a flat name/value list. */
function field(list: readonly string[], name: string): string | undefined {
  for (let i = 0; i < list.length; i += 2) if (list[i] === name) return list[i + 1];
  return undefined;
}

function isGrpc(headers: readonly string[]): boolean {
  return (
    field(headers, ':method') === 'POST' &&
    (field(headers, 'content-type') ?? '').startsWith('application/grpc')
  );
}

/** The address as grpc-js's getPeer() writes it: `ip:port`, `[ipv6]:port`. */
function peerOf(socket: net.Socket): string {
  const address = socket.remoteAddress ?? 'unknown';
  return address.includes(':') ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
}

function certificateOf(socket: net.Socket): PeerCertificate | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  return cert && Object.keys(cert).length > 0 ? cert : undefined;
}
