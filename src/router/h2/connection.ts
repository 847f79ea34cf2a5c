import type * as net from 'node:net';
import { FrameReader } from './frame-reader';
import {
  ConnectionError,
  DEFAULT_MAX_FRAME,
  DEFAULT_WINDOW,
  ErrorCode,
  errorName,
  Flag,
  FRAME_HEADER,
  FrameType,
  frame,
  goawayFrame,
  MAX_WINDOW,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from './frames';
import { HpackDecoder, HpackError } from './hpack/decoder';
import { HpackEncoder } from './hpack/encoder';
import { LOCAL } from './settings';
import { H2Stream } from './stream';

/**
 * Connection-specific headers HTTP/2 forbids (RFC 9113 §8.2.2): a request carrying one is malformed. A
 * proxy never passes them on, nor an HTTP/1 Host or HTTP2-Settings header.
 */
export const CONNECTION_SPECIFIC: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);
const NEVER_SENT = new Set([...CONNECTION_SPECIFIC, 'host', 'http2-settings']);
const skipConnectionSpecific = (name: string): boolean => NEVER_SENT.has(name);
/** Frames written during one turn of the event loop go out in one write up to this size. */
const COALESCE_BYTES = 64 * 1024;
/**
 * Bytes waiting for the socket past which DATA waits too, whatever the peer's windows say: a peer that
 * grants large windows and reads slowly holds the other side of the proxy back instead of filling the
 * router's memory (Envoy's per-connection buffer limit, 1 MiB by default).
 */
const SOCKET_HIGH_WATER = 1 << 20;
/** Unsent bytes past which the peer is taken as not reading at all (control frames have no window). */
const SOCKET_LIMIT = 32 << 20;

interface PartialBlock {
  readonly id: number;
  readonly flags: number;
  readonly parts: Buffer[];
  size: number;
}

/**
 * One HTTP/2 connection (RFC 9113), either side: framing, HPACK, SETTINGS, PING, GOAWAY, RST_STREAM and
 * flow control, with streams as plain objects. Frames written in one turn of the event loop leave in one
 * socket write. Subclasses say what a new stream from the peer means (server) or open streams (client).
 */
export abstract class H2Connection {
  readonly streams = new Map<number, H2Stream>();
  /** The peer's connection-level window for our DATA. */
  sendWindow = DEFAULT_WINDOW;
  peerInitialWindow = DEFAULT_WINDOW;
  peerMaxFrame = DEFAULT_MAX_FRAME;
  peerMaxStreams = Infinity;
  /** Highest stream id the peer opened. */
  lastPeerStreamId = 0;
  goawaySent = false;
  goawayReceived = false;
  destroyed = false;
  /** Why the connection closed, once it has. */
  closeReason = '';
  onClose: ((why: string) => void) | undefined;
  onGoaway: (() => void) | undefined;
  protected readonly reader: FrameReader;
  private readonly decoder = new HpackDecoder();
  private readonly encoder = new HpackEncoder();
  private recvWindow = LOCAL.connectionWindow;
  private unacked = 0;
  private readonly blocked = new Set<H2Stream>();
  private continuation: PartialBlock | undefined;
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushQueued = false;
  private drainAwaited = false;
  private nextPing = 0;
  private readonly pings = new Map<number, (err: Error | null) => void>();

  constructor(readonly socket: net.Socket) {
    this.reader = new FrameReader(
      (type, flags, id, payload) => this.onFrame(type, flags, id, payload),
      LOCAL.maxFrameSize,
    );
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onBytes(chunk));
    socket.on('error', (err) => this.destroy(`connection error: ${err.message}`));
    socket.on('close', () =>
      this.destroy(this.goawaySent ? 'connection closed after GOAWAY' : 'connection closed'),
    );
  }

  /** Our SETTINGS and the connection window beyond the default 65,535. */
  protected greeting(settings: readonly (readonly [number, number])[]): Buffer[] {
    return [
      settingsFrame([
        ...settings,
        [Setting.INITIAL_WINDOW_SIZE, LOCAL.streamWindow],
        [Setting.MAX_HEADER_LIST_SIZE, LOCAL.maxHeaderListSize],
      ]),
      windowUpdateFrame(0, LOCAL.connectionWindow - DEFAULT_WINDOW),
    ];
  }

  /** A header block for a stream the peer opens (server) or for no stream we know (client). */
  protected abstract onNewStream(id: number, headers: string[], endStream: boolean, listSize: number): void;

  protected onBytes(chunk: Buffer): void {
    try {
      this.reader.push(chunk);
    } catch (err) {
      if (err instanceof ConnectionError) this.fail(err.code, err.message);
      else if (err instanceof HpackError) this.fail(ErrorCode.COMPRESSION_ERROR, err.message);
      else this.fail(ErrorCode.INTERNAL_ERROR, `internal error: ${(err as Error).stack ?? String(err)}`);
    }
  }

  // ---- receiving ----

  private onFrame(type: number, flags: number, id: number, payload: Buffer): void {
    if (this.continuation !== undefined && type !== FrameType.CONTINUATION)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'expected CONTINUATION');
    switch (type) {
      case FrameType.DATA:
        return this.onData(flags, id, payload);
      case FrameType.HEADERS:
        return this.onHeadersFrame(flags, id, payload);
      case FrameType.RST_STREAM:
        return this.onRstStream(id, payload);
      case FrameType.SETTINGS:
        return this.onSettings(flags, id, payload);
      case FrameType.PING:
        return this.onPing(flags, id, payload);
      case FrameType.GOAWAY:
        return this.onGoawayFrame(id, payload);
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(id, payload);
      case FrameType.CONTINUATION:
        return this.onContinuation(flags, id, payload);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE: push is not enabled');
      default:
        return; // PRIORITY, and unknown types, are ignored (RFC 9113 §4.1, §5.3.2)
    }
  }

  private onData(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    const flowed = payload.length;
    this.recvWindow -= flowed;
    if (this.recvWindow < 0)
      throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    let data = payload;
    if (flags & Flag.PADDED) {
      const pad = payload[0];
      if (pad >= payload.length) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'padding exceeds DATA');
      data = payload.subarray(1, payload.length - pad);
    }
    const stream = this.streams.get(id);
    if (stream === undefined || stream.remoteEnded) {
      this.creditConnection(flowed); // a stream we reset may still have DATA in flight
      if (stream !== undefined) this.resetStream(stream, ErrorCode.STREAM_CLOSED);
      else if (id > this.lastPeerStreamId && id % 2 === 1 && this.isServer())
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
      return;
    }
    stream.recvWindow -= flowed;
    if (stream.recvWindow < 0) {
      this.creditConnection(flowed);
      this.abort(stream, ErrorCode.FLOW_CONTROL_ERROR, 'the peer sent DATA beyond the stream window');
      return;
    }
    const handler = stream.handler;
    if (handler === undefined) {
      if (data.length > 0) (stream.early ??= []).push(data);
    } else if (data.length > 0) {
      handler.onData(stream, data);
    }
    if (handler === undefined || stream.paused) stream.owed += flowed;
    else this.credit(stream, flowed);
    if (flags & Flag.END_STREAM && !stream.closed) {
      stream.remoteEnded = true;
      handler?.onEnd(stream);
      this.maybeClosed(stream);
    }
  }

  private onHeadersFrame(flags: number, id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    let start = 0;
    let end = payload.length;
    if (flags & Flag.PADDED) {
      start = 1;
      end -= payload[0];
    }
    if (flags & Flag.PRIORITY) start += 5;
    if (start > end) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS padding exceeds the frame');
    const block = payload.subarray(start, end);
    if (flags & Flag.END_HEADERS) this.onHeaderBlock(id, flags, block);
    else this.continuation = { id, flags, parts: [block], size: block.length };
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    const c = this.continuation;
    if (c === undefined || c.id !== id)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `unexpected CONTINUATION on stream ${id}`);
    c.parts.push(payload);
    c.size += payload.length;
    if (c.size > LOCAL.maxHeaderBlock)
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        `header block over ${LOCAL.maxHeaderBlock} bytes`,
      );
    if (flags & Flag.END_HEADERS) {
      this.continuation = undefined;
      this.onHeaderBlock(id, c.flags, Buffer.concat(c.parts, c.size));
    }
  }

  private onHeaderBlock(id: number, flags: number, block: Buffer): void {
    const headers = this.decoder.decode(block); // always: the table must stay in step with the peer's
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const stream = this.streams.get(id);
    if (stream === undefined) {
      this.onNewStream(id, headers, endStream, this.decoder.listSize);
      return;
    }
    if (stream.remoteEnded) {
      this.resetStream(stream, ErrorCode.STREAM_CLOSED);
      return;
    }
    if (this.decoder.listSize > LOCAL.maxHeaderListSize) {
      this.abort(
        stream,
        ErrorCode.PROTOCOL_ERROR,
        `header list of ${this.decoder.listSize} bytes exceeds ${LOCAL.maxHeaderListSize}`,
      );
      return;
    }
    if (endStream) stream.remoteEnded = true;
    stream.handler?.onHeaders(stream, headers, endStream);
    if (endStream) this.maybeClosed(stream);
  }

  private onRstStream(id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM length');
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    const code = payload.readUInt32BE(0);
    this.closeStream(stream, code, `stream reset by the peer (${errorName(code)})`, true);
    this.onPeerReset();
  }

  /** A stream the peer reset before it completed (the server counts them: rapid reset). */
  protected onPeerReset(): void {}

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) return;
    if (payload.length % 6 !== 0) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS length');
    for (let at = 0; at < payload.length; at += 6) {
      const value = payload.readUInt32BE(at + 2);
      switch (payload.readUInt16BE(at)) {
        case Setting.HEADER_TABLE_SIZE:
          this.encoder.setMaxTableSize(value);
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.peerMaxStreams = value;
          break;
        case Setting.INITIAL_WINDOW_SIZE:
          if (value > MAX_WINDOW)
            throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE too large');
          this.changeInitialWindow(value);
          break;
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME || value > 0xffffff)
            throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${value} out of range`);
          this.peerMaxFrame = value;
          break;
        default:
          break; // ENABLE_PUSH (we never push), MAX_HEADER_LIST_SIZE (advisory), unknown ones
      }
    }
    this.send(frame(FrameType.SETTINGS, Flag.ACK, 0));
  }

  private changeInitialWindow(value: number): void {
    const delta = value - this.peerInitialWindow;
    this.peerInitialWindow = value;
    for (const stream of this.streams.values()) {
      stream.sendWindow += delta;
      if (delta > 0 && stream.queue !== undefined && stream.queue.length > 0) this.flushStream(stream, true);
    }
  }

  private onPing(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
    if (payload.length !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING length');
    if (!(flags & Flag.ACK)) {
      this.send(frame(FrameType.PING, Flag.ACK, 0, payload));
      return;
    }
    const key = payload.readUInt32BE(4);
    const done = this.pings.get(key);
    this.pings.delete(key);
    done?.(null);
  }

  private onGoawayFrame(id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
    if (payload.length < 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'GOAWAY length');
    const lastId = payload.readUInt32BE(0) & 0x7fffffff;
    const code = payload.readUInt32BE(4);
    const debug = payload.length > 8 ? `: ${payload.toString('utf8', 8, Math.min(payload.length, 264))}` : '';
    this.goawayReceived = true;
    const why = `the peer sent GOAWAY (${errorName(code)}${debug})`;
    // Streams we opened above lastId were not processed: safe to retry elsewhere (RFC 9113 §6.8).
    for (const stream of [...this.streams.values()])
      if (stream.id > lastId && stream.id % 2 === (this.isServer() ? 0 : 1))
        this.closeStream(stream, ErrorCode.REFUSED_STREAM, `${why}; the stream was not processed`, true);
    this.onGoaway?.();
    if (this.streams.size === 0) this.endSocket();
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE length');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (id === 0) {
      if (increment === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW)
        throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'connection window over 2^31-1');
      this.flushBlocked();
      return;
    }
    const stream = this.streams.get(id);
    if (stream === undefined) return;
    if (increment === 0)
      return this.abort(stream, ErrorCode.PROTOCOL_ERROR, 'the peer sent a WINDOW_UPDATE of 0');
    stream.sendWindow += increment;
    if (stream.sendWindow > MAX_WINDOW)
      return this.abort(stream, ErrorCode.FLOW_CONTROL_ERROR, 'the peer grew the stream window over 2^31-1');
    if (stream.queue !== undefined && stream.queue.length > 0) this.flushStream(stream, true);
  }

  /** Credits `n` received bytes of `stream` back to the peer (batched: a quarter window at a time). */
  credit(stream: H2Stream, n: number): void {
    this.creditConnection(n);
    if (stream.remoteEnded || stream.closed) return;
    stream.unacked += n;
    if (stream.unacked >= LOCAL.streamWindow / 4) {
      this.send(windowUpdateFrame(stream.id, stream.unacked));
      stream.recvWindow += stream.unacked;
      stream.unacked = 0;
    }
  }

  private creditConnection(n: number): void {
    this.unacked += n;
    if (this.unacked >= LOCAL.connectionWindow / 4) {
      this.send(windowUpdateFrame(0, this.unacked));
      this.recvWindow += this.unacked;
      this.unacked = 0;
    }
  }

  // ---- sending ----

  /** A header block (HEADERS, then CONTINUATION frames if it exceeds the peer's frame size). */
  sendHeaders(
    stream: H2Stream,
    headers: readonly string[],
    extra: readonly string[] | undefined,
    endStream: boolean,
  ): void {
    if (this.destroyed) return;
    const encoded = this.encoder.encode(headers, extra, skipConnectionSpecific, FRAME_HEADER);
    const length = encoded.length - FRAME_HEADER;
    const end = endStream ? Flag.END_STREAM : 0;
    if (length <= this.peerMaxFrame) {
      writeFrameHeader(encoded, 0, length, FrameType.HEADERS, Flag.END_HEADERS | end, stream.id);
      this.send(Buffer.from(encoded));
    } else {
      const block = encoded.subarray(FRAME_HEADER);
      for (let at = 0; at < length; at += this.peerMaxFrame) {
        const last = at + this.peerMaxFrame >= length;
        const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
        const flags = (last ? Flag.END_HEADERS : 0) | (at === 0 ? end : 0);
        this.send(frame(type, flags, stream.id, block.subarray(at, at + this.peerMaxFrame)));
      }
    }
    if (endStream) {
      stream.localEnded = true;
      this.maybeClosed(stream);
    }
  }

  /** DATA now if the windows allow, else queued; false when some of it waits (onDrain follows). */
  sendData(stream: H2Stream, chunk: Buffer): boolean {
    if (chunk.length === 0) return true;
    if (stream.queue !== undefined && stream.queue.length > 0) {
      stream.queue.push(chunk);
      return false;
    }
    const n = chunk.length;
    if (n <= stream.sendWindow && n <= this.sendWindow && n <= this.peerMaxFrame && !this.congested) {
      stream.sendWindow -= n;
      this.sendWindow -= n;
      this.sendDataFrame(stream.id, chunk, 0);
      return true;
    }
    (stream.queue ??= []).push(chunk);
    return this.flushStream(stream, false);
  }

  /** Ends our side of the stream: trailers, or an empty DATA frame with END_STREAM. */
  sendEnd(stream: H2Stream, trailers: readonly string[]): void {
    if (trailers.length > 0) {
      this.sendHeaders(stream, trailers, undefined, true);
      return;
    }
    this.send(frame(FrameType.DATA, Flag.END_STREAM, stream.id));
    stream.localEnded = true;
    this.maybeClosed(stream);
  }

  /**
   * Sends what the windows allow of the stream's queue; then what ends the stream, if queued. True when
   * the queue is empty. `notify`: tell the handler it drained (not when its own write emptied it).
   */
  private flushStream(stream: H2Stream, notify: boolean): boolean {
    const queue = stream.queue!;
    while (queue.length > 0) {
      const allowed = Math.min(stream.sendWindow, this.sendWindow, this.peerMaxFrame);
      if (allowed <= 0 || this.congested) {
        // A stream window is reopened by its own WINDOW_UPDATE; the others wake every blocked stream.
        if (this.sendWindow <= 0 || this.congested) this.blocked.add(stream);
        if (this.congested) this.awaitDrain();
        return false;
      }
      const head = queue[0];
      const n = Math.min(head.length, allowed);
      if (n === head.length) queue.shift();
      else queue[0] = head.subarray(n);
      stream.sendWindow -= n;
      this.sendWindow -= n;
      this.sendDataFrame(stream.id, n === head.length ? head : head.subarray(0, n), 0);
    }
    const end = stream.queuedEnd;
    if (end !== undefined) {
      stream.queuedEnd = undefined;
      this.sendEnd(stream, end);
    } else if (notify) {
      stream.handler?.onDrain(stream);
    }
    return true;
  }

  /** Streams waiting on the connection window or a congested socket get another go, oldest first. */
  private flushBlocked(): void {
    for (const stream of [...this.blocked]) {
      if (this.sendWindow <= 0 || this.congested) return;
      this.blocked.delete(stream);
      this.flushStream(stream, true);
    }
  }

  /** More than SOCKET_HIGH_WATER bytes are waiting for the socket. */
  private get congested(): boolean {
    return this.outBytes + this.socket.writableLength > SOCKET_HIGH_WATER;
  }

  private awaitDrain(): void {
    if (this.drainAwaited) return;
    this.drainAwaited = true;
    this.socket.once('drain', () => {
      this.drainAwaited = false;
      this.flushBlocked();
    });
  }

  private sendDataFrame(id: number, payload: Buffer, flags: number): void {
    if (payload.length < 4096) {
      const f = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
      writeFrameHeader(f, 0, payload.length, FrameType.DATA, flags, id);
      payload.copy(f, FRAME_HEADER);
      this.send(f);
      return;
    }
    const header = Buffer.allocUnsafe(FRAME_HEADER);
    writeFrameHeader(header, 0, payload.length, FrameType.DATA, flags, id);
    this.send(header);
    this.send(payload); // a view of bytes read from the other side; nothing writes to it
  }

  /** Resets a stream from our side: RST_STREAM, and no callback. */
  resetStream(stream: H2Stream, code: number): void {
    if (stream.closed) return;
    this.send(rstStreamFrame(stream.id, code));
    this.closeStream(stream, code, '', false);
  }

  /** Resets a stream and tells its handler why (a peer's protocol error on that stream alone). */
  private abort(stream: H2Stream, code: number, why: string): void {
    this.send(rstStreamFrame(stream.id, code));
    this.closeStream(stream, code, why, true);
  }

  /** Sends a PING; `done` gets its ACK (null) or the connection's end. False when closed. */
  ping(done: (err: Error | null) => void): boolean {
    if (this.destroyed) return false;
    const key = (this.nextPing = (this.nextPing + 1) >>> 0);
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(key, 4);
    this.pings.set(key, done);
    this.send(frame(FrameType.PING, 0, 0, payload));
    return true;
  }

  protected send(buf: Buffer): void {
    this.out.push(buf);
    this.outBytes += buf.length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(flushOut, this);
    }
  }

  /** Writes what is queued now (also what a turn of the event loop gathered). */
  flushNow(): void {
    this.flushQueued = false;
    const out = this.out;
    if (out.length === 0 || this.socket.destroyed) {
      this.out = [];
      this.outBytes = 0;
      return;
    }
    if (this.socket.writableLength > SOCKET_LIMIT) {
      this.destroy(`the peer is not reading: ${this.socket.writableLength} bytes unsent`);
      return;
    }
    if (out.length === 1) {
      this.socket.write(out[0]);
    } else if (this.outBytes <= COALESCE_BYTES) {
      this.socket.write(Buffer.concat(out, this.outBytes));
    } else {
      this.socket.cork();
      for (const buf of out) this.socket.write(buf);
      this.socket.uncork();
    }
    this.out = [];
    this.outBytes = 0;
  }

  // ---- stream and connection lifecycle ----

  protected addStream(stream: H2Stream): void {
    this.streams.set(stream.id, stream);
  }

  /**
   * After either side ended: both ended closes the stream. A server whose response is complete while the
   * request is not asks the client to stop sending (RST_STREAM NO_ERROR, RFC 9113 §8.1); a client whose
   * response is complete stops sending (CANCEL): a stream never lingers half-open after its answer.
   */
  private maybeClosed(stream: H2Stream): void {
    if (stream.closed) return;
    if (stream.localEnded && stream.remoteEnded) this.closeStream(stream, 0, '', false);
    else if (this.isServer() ? stream.localEnded : stream.remoteEnded)
      this.resetStream(stream, this.isServer() ? ErrorCode.NO_ERROR : ErrorCode.CANCEL);
  }

  private closeStream(stream: H2Stream, code: number, why: string, notify: boolean): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.rstCode = code;
    stream.queue = undefined;
    stream.queuedEnd = undefined;
    this.streams.delete(stream.id);
    this.blocked.delete(stream);
    if (notify) {
      if (stream.handler !== undefined) stream.handler.onReset(stream, code, why);
      else stream.onGoneEarly?.();
    }
    if ((this.goawaySent || this.goawayReceived) && this.streams.size === 0) this.endSocket();
  }

  /** Graceful close: GOAWAY naming the last stream we will process; the socket ends when they are done. */
  close(): void {
    if (this.destroyed || this.goawaySent) return;
    this.goawaySent = true;
    this.send(goawayFrame(this.lastPeerStreamId, ErrorCode.NO_ERROR, ''));
    if (this.streams.size === 0) this.endSocket();
  }

  /** A connection error: GOAWAY with the code and why, then the connection closes. */
  fail(code: number, why: string): void {
    if (this.destroyed) return;
    this.goawaySent = true;
    this.send(goawayFrame(this.lastPeerStreamId, code, why));
    this.destroy(`${errorName(code)}: ${why}`, true);
  }

  private endSocket(): void {
    this.flushNow();
    if (!this.socket.destroyed) this.socket.end();
  }

  /**
   * Closes at once: every open stream is told why, pending PINGs fail. `flush`: what is queued (a GOAWAY)
   * still goes out before the socket closes.
   */
  destroy(why: string, flush = false): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.closeReason = why;
    for (const stream of [...this.streams.values()]) this.closeStream(stream, ErrorCode.CANCEL, why, true);
    for (const done of this.pings.values()) done(new Error(why));
    this.pings.clear();
    if (!this.socket.destroyed) {
      if (flush) {
        this.flushNow();
        this.socket.end();
        setTimeout(() => this.socket.destroy(), 1_000).unref();
      } else {
        this.socket.destroy();
      }
    }
    this.onClose?.(why);
  }

  protected abstract isServer(): boolean;
}

function flushOut(conn: H2Connection): void {
  conn.flushNow();
}
