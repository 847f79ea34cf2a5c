import * as net from 'node:net';
import { H2Connection } from './connection';
import { ConnectionError, ErrorCode, PREFACE, rstStreamFrame, Setting } from './frames';
import { LOCAL } from './settings';
import { H2Stream } from './stream';

/** A request stream the peer opened: its headers are `stream.headers`; attach a handler to take it. */
export type StreamListener = (stream: H2Stream) => void;

const RESPONSE_431 = [':status', '431'];

/** The server side of one connection: checks the client preface, then turns new streams into requests. */
export class H2ServerConnection extends H2Connection {
  private prefaceLeft = PREFACE.length;

  constructor(
    socket: net.Socket,
    private readonly onStream: StreamListener,
  ) {
    super(socket);
    for (const buf of this.greeting([[Setting.MAX_CONCURRENT_STREAMS, LOCAL.maxConcurrentStreams]]))
      this.send(buf);
  }

  protected override onBytes(chunk: Buffer): void {
    if (this.prefaceLeft > 0) {
      const at = PREFACE.length - this.prefaceLeft;
      const n = Math.min(this.prefaceLeft, chunk.length);
      if (chunk.compare(PREFACE, at, at + n, 0, n) !== 0) {
        this.fail(ErrorCode.PROTOCOL_ERROR, 'this port speaks HTTP/2 (gRPC) only: no client preface');
        return;
      }
      this.prefaceLeft -= n;
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    super.onBytes(chunk);
  }

  protected onNewStream(id: number, headers: string[], endStream: boolean, listSize: number): void {
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
    if (!hasPseudo(headers, ':path') || !hasPseudo(headers, ':method')) {
      this.resetStream(stream, ErrorCode.PROTOCOL_ERROR);
      return;
    }
    this.onStream(stream);
  }

  private resetNew(stream: H2Stream, code: number): void {
    this.addStream(stream);
    this.resetStream(stream, code);
  }

  protected isServer(): boolean {
    return true;
  }
}

function hasPseudo(headers: readonly string[], name: string): boolean {
  for (let i = 0; i < headers.length && headers[i].charCodeAt(0) === 58; i += 2)
    if (headers[i] === name) return true;
  return false;
}

/** An HTTP/2 (cleartext, prior knowledge) server on our own framing; tracks its connections for shutdown. */
export class H2Server {
  readonly server: net.Server;
  readonly connections = new Set<H2ServerConnection>();

  constructor(onStream: StreamListener) {
    this.server = net.createServer((socket) => {
      const conn = new H2ServerConnection(socket, onStream);
      this.connections.add(conn);
      conn.onClose = () => this.connections.delete(conn);
    });
  }
}
