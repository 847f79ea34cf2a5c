import * as net from 'node:net';
import { H2Connection } from './connection';
import { ConnectionStats } from './connection-stats';
import { CONNECTION_SPECIFIC } from './output';
import { ConnectionError, ErrorCode, PREFACE, rstStreamFrame, Setting } from './frames';
import { LOCAL } from './settings';
import { adoptSocket } from './socket-reads';
import { H2Stream } from './stream';

/** A request stream the peer opened: its headers are `stream.headers`; attach a handler to take it. */
export type StreamListener = (stream: H2Stream) => void;

const RESPONSE_431 = [':status', '431'];
/**
 * Rapid reset (CVE-2023-44487): a client opening and resetting streams at once makes the router open and
 * cancel upstream streams for nothing. More than this many resets in RESET_WINDOW_MS closes the
 * connection with ENHANCE_YOUR_CALM; a client cancelling now and then never comes near.
 */
const MAX_RESETS = 1_000;
const RESET_WINDOW_MS = 10_000;
const REQUEST_PSEUDO = new Set([':method', ':scheme', ':authority', ':path']);
/** Header names already checked (they repeat call after call); bounded. */
const validNames = new Set<string>();

/** The server side of one connection: checks the client preface, then turns new streams into requests. */
export class H2ServerConnection extends H2Connection {
  private prefaceLeft = PREFACE.length;
  private resets = 0;
  private resetWindowStart = 0;
  /** The last request header list found well formed: calls repeat the same list (the decoder reuses it). */
  private wellFormedList: readonly string[] | undefined;

  constructor(
    socket: net.Socket,
    private readonly onStream: StreamListener,
  ) {
    super(socket);
    for (const buf of this.greeting([[Setting.MAX_CONCURRENT_STREAMS, LOCAL.maxConcurrentStreams]]))
      this.send(buf);
  }

  override onBytes(chunk: Buffer, length = chunk.length): void {
    if (this.prefaceLeft > 0) {
      const at = PREFACE.length - this.prefaceLeft;
      const n = Math.min(this.prefaceLeft, length);
      if (chunk.compare(PREFACE, at, at + n, 0, n) !== 0) {
        this.fail(ErrorCode.PROTOCOL_ERROR, 'this port speaks HTTP/2 (gRPC) only: no client preface');
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
    if (id <= this.lastPeerStreamId) return; // a stream already closed (we reset it): its trailers
    this.lastPeerStreamId = id;
    const stream = new H2Stream(this, id, headers, this.peerInitialWindow, LOCAL.streamWindow);
    stream.remoteEnded = endStream;
    if (this.goawaySent) {
      this.send(rstStreamFrame(id, ErrorCode.REFUSED_STREAM));
      return;
    }
    if (this.streams.size >= LOCAL.maxConcurrentStreams) {
      this.resetNew(stream, ErrorCode.REFUSED_STREAM);
      return;
    }
    this.addStream(stream);
    if (listSize > LOCAL.maxHeaderListSize) {
      stream.respond(RESPONSE_431, true); // request headers too large (RFC 6585)
      return;
    }
    if (headers !== this.wellFormedList && !wellFormed(headers)) {
      // Malformed (RFC 9113 §8.1.1): refused here, so an instance never resets it and looks at fault.
      if (this.stats) this.stats.malformed++;
      this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    this.wellFormedList = headers;
    this.onStream(stream);
  }

  protected override onPeerReset(): void {
    const now = Date.now();
    if (now - this.resetWindowStart > RESET_WINDOW_MS) {
      this.resetWindowStart = now;
      this.resets = 0;
    }
    if (++this.resets > MAX_RESETS)
      this.fail(
        ErrorCode.ENHANCE_YOUR_CALM,
        `more than ${MAX_RESETS} streams reset within ${RESET_WINDOW_MS / 1000} s`,
      );
  }

  private resetNew(stream: H2Stream, code: number): void {
    this.addStream(stream);
    this.resetStream(stream, code);
  }

  protected isServer(): boolean {
    return true;
  }

  protected isIdle(id: number): boolean {
    return id % 2 === 0 || id > this.lastPeerStreamId;
  }
}

/**
 * A request header list HTTP/2 allows: lowercase names, request pseudo-headers only and before the
 * others, :method and :path present, no connection-specific headers, te only "trailers".
 */
function wellFormed(headers: readonly string[]): boolean {
  let regular = false;
  let method = false;
  let path = false;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    if (name.charCodeAt(0) === 58 /* ':' */) {
      if (regular || !REQUEST_PSEUDO.has(name)) return false;
      if (name === ':method') method = true;
      else if (name === ':path') path = headers[i + 1] !== '';
      continue;
    }
    regular = true;
    if (!validName(name) || CONNECTION_SPECIFIC.has(name)) return false;
    if (name === 'te' && headers[i + 1] !== 'trailers') return false;
  }
  return method && path;
}

function validName(name: string): boolean {
  if (validNames.has(name)) return true;
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    // RFC 9110 token characters, lowercase only.
    const ok =
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2d ||
      c === 0x5f ||
      c === 0x2e ||
      c === 0x21 ||
      (c >= 0x23 && c <= 0x27) ||
      c === 0x2a ||
      c === 0x2b ||
      c === 0x5e ||
      c === 0x60 ||
      c === 0x7c ||
      c === 0x7e;
    if (!ok) return false;
  }
  if (validNames.size < 10_000) validNames.add(name);
  return true;
}

/** An HTTP/2 (cleartext, prior knowledge) server on our own framing; tracks its connections for shutdown. */
export class H2Server {
  readonly server: net.Server;
  readonly connections = new Set<H2ServerConnection>();
  readonly stats = new ConnectionStats();
  private onEmpty: (() => void) | undefined;

  constructor(onStream: StreamListener, onInternalError?: (err: Error) => void) {
    // pauseOnConnect: adoptSocket moves the socket to the shared read buffer before anything is read.
    this.server = net.createServer({ noDelay: true, pauseOnConnect: true }, (accepted) => {
      let conn: H2ServerConnection | undefined = undefined;
      const socket = adoptSocket(accepted, () => conn);
      conn = new H2ServerConnection(socket, onStream);
      conn.stats = this.stats;
      this.stats.opened++;
      this.stats.open++;
      this.connections.add(conn);
      conn.onClose = () => {
        this.stats.open--;
        this.connections.delete(conn);
        if (this.connections.size === 0) this.onEmpty?.();
      };
      conn.onInternalError = onInternalError;
    });
  }

  /**
   * Stops accepting; resolves once every connection has closed (the caller closes or destroys them).
   * net.Server cannot tell: adopted sockets (socket-reads.ts) are not the ones it counts.
   */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => {
        if (this.connections.size === 0) resolve();
        else this.onEmpty = resolve;
      });
    });
  }
}
