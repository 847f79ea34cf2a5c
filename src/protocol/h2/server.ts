import * as net from 'node:net';
import { H2Connection } from './connection';
import { ConnectionStats } from './connection-stats';
import { Closed } from './closed-streams';
import { ConnectionError, ErrorCode, PREFACE, Setting } from './frames';
import { DEFAULT_LIMITS, type H2Limits } from './limits';
import { NO_CONTENT_LENGTH, checkRequest } from './request-check';
import { LOCAL } from './settings';
import { afterRead } from './read-turn';
import type { ReadBudget } from './read-budget';
import { adoptSocket, readChunks } from './socket-reads';
import { createServer as tlsServer } from 'node:tls';
import type { TlsFiles } from '../../security/tls-files';
import { serverTlsOptions, watchTlsFiles } from '../../security/tls-reload';
import { H2Stream } from './stream';
import { ConnectionSweeper } from './sweeper';

/** A request stream the peer opened: its headers are `stream.headers`; attach a handler to take it. */
export type StreamListener = (stream: H2Stream) => void;

const RESPONSE_431 = [':status', '431'];

/** The server side of one connection: checks the client preface, then turns new streams into requests. */
export class H2ServerConnection extends H2Connection {
  /** Bytes of the client preface still to come (the sweeper times it). */
  prefaceLeft = PREFACE.length;
  /**
   * The last request header list found well formed, and its content-length: calls repeat the same list
   * (the decoder reuses it), checked once.
   */
  private wellFormedList: readonly string[] | undefined;
  private wellFormedLength = NO_CONTENT_LENGTH;
  /** Requests refused with 431 so far (maxRefusedHeaderLists). */
  private refusedLists = 0;
  /** New streams held to the end of the read (see onNewStream). */
  private deferred: H2Stream[] = [];

  constructor(
    socket: net.Socket,
    private readonly onStream: StreamListener,
    limits: H2Limits = DEFAULT_LIMITS,
  ) {
    super(socket, limits);
    for (const buf of this.greeting([[Setting.MAX_CONCURRENT_STREAMS, limits.maxConcurrentStreams]]))
      this.sendFrame(buf);
  }

  override onBytes(chunk: Buffer, length = chunk.length): void {
    if (this.prefaceLeft > 0) {
      const at = PREFACE.length - this.prefaceLeft;
      const n = Math.min(this.prefaceLeft, length);
      if (chunk.compare(PREFACE, at, at + n, 0, n) !== 0) {
        this.fail(
          ErrorCode.PROTOCOL_ERROR,
          'this port speaks HTTP/2 (gRPC) only: no client preface',
          'not_http2',
        );
        return;
      }
      this.prefaceLeft -= n;
      if (n === length) return;
      chunk = chunk.subarray(n, length);
      length -= n;
    }
    super.onBytes(chunk, length);
  }

  protected onNewStream(id: number, headers: readonly string[], endStream: boolean, listSize: number): void {
    if (id % 2 === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `client opened even stream ${id}`);
    if (id <= this.lastPeerStreamId) {
      // Not a new stream: trailers of one we reset (or forgot) are ignored; on one that ended, or on an id
      // the client skipped, an error.
      const how = this.closed.how(id);
      if (how === Closed.Ended)
        throw new ConnectionError(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
      if (how === Closed.Skipped)
        throw new ConnectionError(
          ErrorCode.PROTOCOL_ERROR,
          `HEADERS on stream ${id}, below the last stream opened (${this.lastPeerStreamId}): ids only rise (§5.1.1)`,
        );
      return;
    }
    this.closed.opened(id, this.lastPeerStreamId);
    this.lastPeerStreamId = id;
    const stream = new H2Stream(this, id, headers, this.peerInitialWindow, LOCAL.streamWindow);
    stream.remoteEnded = endStream;
    this.addStream(stream);
    if (this.goawaySent || this.streams.size > this.limits.maxConcurrentStreams) {
      this.resetStream(stream, ErrorCode.REFUSED_STREAM);
      return;
    }
    if (listSize > this.limits.maxHeaderListSize) {
      this.stats?.violation('header_list_too_large');
      stream.respond(RESPONSE_431, true); // request headers too large (RFC 6585)
      if (++this.refusedLists > this.limits.maxRefusedHeaderLists)
        throw new ConnectionError(
          ErrorCode.ENHANCE_YOUR_CALM,
          `more than ${this.limits.maxRefusedHeaderLists} requests with a header list over ${this.limits.maxHeaderListSize} bytes`,
          'header_list_flood',
        );
      return;
    }
    let length = this.wellFormedLength;
    if (headers !== this.wellFormedList) {
      const checked = checkRequest(headers);
      if (typeof checked === 'string') return this.malformed(stream, checked);
      this.wellFormedList = headers;
      this.wellFormedLength = length = checked;
    }
    if (length !== NO_CONTENT_LENGTH) {
      if (endStream && length > 0) return this.malformed(stream, 'DATA does not add up to content-length');
      stream.expectedLength = length;
    }
    // A client that has reset streams before their answer was complete (rapid reset) gets its new streams routed at
    // the end of the read: one it resets in the same read never costs an upstream attempt.
    if (this.guard.prematureResets > 0) {
      if (this.deferred.push(stream) === 1) afterRead(routeDeferred, this);
      return;
    }
    this.onStream(stream);
  }

  /** The streams held to the end of the read that are still open go to the listener. */
  routeDeferred(): void {
    const streams = this.deferred;
    this.deferred = [];
    for (const stream of streams) if (!stream.closed) this.onStream(stream);
  }

  protected isServer(): boolean {
    return true;
  }

  protected isIdle(id: number): boolean {
    return id % 2 === 0 || id > this.lastPeerStreamId;
  }
}

function routeDeferred(conn: H2ServerConnection): void {
  conn.routeDeferred();
}

/**
 * An HTTP/2 (cleartext, prior knowledge) server on our own framing; tracks its connections for shutdown,
 * caps how many are open, and times them (preface, header blocks, idleness, age: sweeper.ts).
 */
export class H2Server {
  readonly server: net.Server;
  readonly connections = new Set<H2ServerConnection>();
  readonly stats = new ConnectionStats();
  private readonly sweeper: ConnectionSweeper;
  private onEmpty: (() => void) | undefined;
  private unwatch: () => void = () => undefined;

  constructor(
    onStream: StreamListener,
    onInternalError?: (err: Error) => void,
    readonly limits: H2Limits = DEFAULT_LIMITS,
    /** TLS (ALPN h2; client certificates required when it has a CA), reloaded when its files change. */
    tls?: { readonly files: TlsFiles; readonly onReloadError: (err: Error) => void },
    /** Set on each new connection before it reads (how it writes: `coalesceBytes`). */
    configure?: (conn: H2ServerConnection) => void,
    /** Bounds the time a turn of the event loop spends on this server's reads (cleartext sockets). */
    readBudget?: ReadBudget,
  ) {
    this.sweeper = new ConnectionSweeper(limits, this.stats);
    const accept = (accepted: net.Socket, adopt: boolean) => {
      if (limits.maxConnections > 0 && this.connections.size >= limits.maxConnections) {
        this.stats.violation('connection_limit');
        accepted.destroy();
        return;
      }
      let conn: H2ServerConnection | undefined = undefined;
      // Cleartext: the socket moves to the shared read buffer. TLS: its plaintext comes as 'data' chunks
      // (each its own buffer, which meets the receiver's contract too).
      const socket = adopt
        ? adoptSocket(accepted, () => conn, readBudget)
        : readChunks(accepted, () => conn, readBudget);
      conn = new H2ServerConnection(socket, onStream, limits);
      conn.stats = this.stats;
      this.stats.opened++;
      this.stats.open++;
      this.connections.add(conn);
      this.sweeper.add(conn);
      conn.onClose = () => {
        this.stats.open--;
        this.connections.delete(conn);
        this.sweeper.delete(conn);
        if (this.connections.size === 0) this.onEmpty?.();
      };
      conn.onInternalError = onInternalError;
      configure?.(conn);
    };
    if (tls) {
      const server = tlsServer({
        ...serverTlsOptions(tls.files),
        ALPNProtocols: ['h2'],
        pauseOnConnect: false,
      });
      server.on('secureConnection', (socket) => accept(socket, false));
      // A failed handshake (no certificate, an untrusted one, no h2) only concerns that peer.
      server.on('tlsClientError', () => this.stats.violation('tls_handshake'));
      this.unwatch = watchTlsFiles(tls.files, (o) => server.setSecureContext(o), tls.onReloadError);
      this.server = server;
    } else {
      // pauseOnConnect: adoptSocket moves the socket to the shared read buffer before anything is read.
      this.server = net.createServer({ noDelay: true, pauseOnConnect: true }, (s) => accept(s, true));
    }
  }

  /**
   * Stops accepting; resolves once every connection has closed (the caller closes or destroys them).
   * net.Server cannot tell: adopted sockets (socket-reads.ts) are not the ones it counts.
   */
  close(): Promise<void> {
    this.sweeper.stop();
    this.unwatch();
    return new Promise((resolve) => {
      this.server.close(() => {
        if (this.connections.size === 0) resolve();
        else this.onEmpty = resolve;
      });
    });
  }
}
