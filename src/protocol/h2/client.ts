import type { AddedField } from './hpack/added-field';
import type * as net from 'node:net';
import { H2Connection } from './connection';
import { ConnectionError, ErrorCode, PREFACE, Setting } from './frames';
import { DEFAULT_LIMITS, type H2Limits } from './limits';
import { LOCAL } from './settings';
import { connectSocket, readChunks } from './socket-reads';
import * as tls from 'node:tls';
import { H2Stream, type StreamHandler } from './stream';

const NO_HEADERS: string[] = [];
const LAST_STREAM_ID = 0x7fffffff;

/** The client side of one connection (cleartext HTTP/2 with prior knowledge, as gRPC uses). */
export class H2ClientConnection extends H2Connection {
  private nextId = 1;

  /** Connects to host:port; requests may be opened at once (they go out when the socket connects). */
  static connect(host: string, port: number, limits: H2Limits = DEFAULT_LIMITS): H2ClientConnection {
    let conn: H2ClientConnection | undefined = undefined;
    const socket = connectSocket(host, port, () => conn);
    conn = new H2ClientConnection(socket, limits);
    return conn;
  }

  /** Connects over TLS, offering ALPN h2; requests may be opened at once (sent after the handshake). */
  static connectTls(
    host: string,
    port: number,
    options: tls.ConnectionOptions,
    limits: H2Limits = DEFAULT_LIMITS,
  ): H2ClientConnection {
    let conn: H2ClientConnection | undefined = undefined;
    const socket = tls.connect({ ...options, host, port, ALPNProtocols: ['h2'] });
    socket.setNoDelay(true);
    readChunks(socket, () => conn);
    conn = new H2ClientConnection(socket, limits);
    return conn;
  }

  constructor(socket: net.Socket, limits: H2Limits = DEFAULT_LIMITS) {
    super(socket, limits);
    this.send(PREFACE);
    for (const buf of this.greeting([[Setting.ENABLE_PUSH, 0]])) this.sendFrame(buf);
  }

  get connecting(): boolean {
    return this.socket.connecting;
  }

  /** Whether another stream may open now (not closing, under the peer's MAX_CONCURRENT_STREAMS). */
  get available(): boolean {
    return (
      !this.destroyed && !this.goawayReceived && !this.goawaySent && this.streams.size < this.peerMaxStreams
    );
  }

  /**
   * Opens a stream: HEADERS go out now (`extra` pairs after `headers`), then write() and end() the body.
   * Throws when the connection cannot take it (check `available`).
   */
  request(
    headers: readonly string[],
    extra: readonly string[] | undefined,
    handler: StreamHandler,
    added?: AddedField,
    addedSeed = 0,
  ): H2Stream {
    if (!this.available) throw new Error(this.closeReason || 'connection is closing');
    const id = this.nextId;
    this.nextId += 2;
    if (this.nextId > LAST_STREAM_ID) this.close(); // ids exhausted: this one is the last
    const stream = new H2Stream(this, id, NO_HEADERS, this.peerInitialWindow, LOCAL.streamWindow);
    stream.handler = handler;
    stream.headersSent = true;
    this.addStream(stream);
    this.sendHeaders(stream, headers, extra, false, added, addedSeed);
    return stream;
  }

  protected onNewStream(id: number): void {
    // HEADERS for a stream we no longer track (we reset it): decoded already, nothing more to do. An
    // instance never opens streams: push is off.
    if (this.isIdle(id)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on idle stream ${id}`);
  }

  protected isServer(): boolean {
    return false;
  }

  protected isIdle(id: number): boolean {
    return id % 2 === 0 || id >= this.nextId;
  }
}
