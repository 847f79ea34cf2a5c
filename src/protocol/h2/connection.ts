import { Buffer } from 'node:buffer';
import type * as net from 'node:net';
import { copyBytes } from './bytes';
import { Closed } from './closed-streams';
import { FrameReader } from './frame-reader';
import {
  ConnectionError,
  DEFAULT_WINDOW,
  ErrorCode,
  errorName,
  Flag,
  FrameType,
  frame,
  MAX_WINDOW,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
} from './frames';
import { HpackDecoder, HpackError } from './hpack/decoder';
import type { H2Limits } from './limits';
import { LOCAL } from './settings';
import { H2Lifecycle } from './lifecycle';
import { readDone, readStarted } from './read-turn';
import { parseSettings } from './settings-frame';
import { checkTrailers } from './request-check';
import type { H2Stream } from './stream';

/** A header block begun with HEADERS, waiting for its CONTINUATION frames. */
interface PartialBlock {
  readonly id: number;
  readonly flags: number;
  readonly parts: Buffer[];
  size: number;
  frames: number;
}

/**
 * One HTTP/2 connection (RFC 9113), either side: reading frames, HPACK decoding, SETTINGS, PING, GOAWAY,
 * RST_STREAM, receive flow control and the lifecycle of streams (plain objects); sending is H2Output's.
 * Subclasses say what a new stream from the peer means (server) or open streams (client).
 */
export abstract class H2Connection extends H2Lifecycle {
  peerInitialWindow = DEFAULT_WINDOW;
  peerMaxStreams = Infinity;
  onGoaway: (() => void) | undefined;
  /** An exception thrown while handling the peer's frames (the connection closes with INTERNAL_ERROR). */
  onInternalError: ((err: Error) => void) | undefined;
  protected readonly reader: FrameReader;
  private readonly decoder: HpackDecoder;
  private recvWindow = LOCAL.connectionWindow;
  private unacked = 0;
  /** A header block waiting for CONTINUATION frames (the sweeper times it: slowloris). */
  continuation: PartialBlock | undefined;

  constructor(socket: net.Socket, limits: H2Limits) {
    super(socket, limits);
    this.decoder = new HpackDecoder(limits.headerTableSize, limits.maxHeaderListSize);
    this.reader = new FrameReader(
      (type, flags, id, buf, start, end) => this.onFrame(type, flags, id, buf, start, end),
      LOCAL.maxFrameSize,
    );
    socket.setNoDelay(true);
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
        [Setting.HEADER_TABLE_SIZE, this.limits.headerTableSize],
        [Setting.INITIAL_WINDOW_SIZE, LOCAL.streamWindow],
        [Setting.MAX_HEADER_LIST_SIZE, this.limits.maxHeaderListSize],
      ]),
      windowUpdateFrame(0, LOCAL.connectionWindow - DEFAULT_WINDOW),
    ];
  }

  /** A header block for a stream the peer opens (server) or for no stream we know (client). */
  protected abstract onNewStream(
    id: number,
    headers: readonly string[],
    endStream: boolean,
    listSize: number,
  ): void;

  /** Bytes read from the socket, valid only during the call (socket-reads.ts): what is kept is copied. */
  onBytes(chunk: Buffer, length = chunk.length): void {
    // Closed (a GOAWAY lingers for the peer to read it): what else it sends is not looked at.
    if (this.destroyed) return;
    readStarted();
    try {
      this.reader.push(chunk, length);
    } catch (err) {
      if (err instanceof ConnectionError) this.fail(err.code, err.message, err.reason);
      else if (err instanceof HpackError) this.fail(ErrorCode.COMPRESSION_ERROR, err.message);
      else {
        // A bug of ours, not the peer's: the peer learns only that; the operator gets the stack.
        this.onInternalError?.(err as Error);
        this.fail(ErrorCode.INTERNAL_ERROR, 'internal error in the router');
      }
    } finally {
      readDone();
    }
  }

  // ---- receiving ----

  /** A frame whose payload is buf[start, end): DATA and HEADERS read it in place, the rest get a view. */
  private onFrame(type: number, flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (this.continuation !== undefined && type !== FrameType.CONTINUATION)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'expected CONTINUATION');
    if (type === FrameType.DATA) return this.onData(flags, id, buf, start, end);
    if (type === FrameType.HEADERS) return this.onHeadersFrame(flags, id, buf, start, end);
    const payload = buf.subarray(start, end);
    switch (type) {
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
      case FrameType.PRIORITY:
        return this.onPriority(id, payload);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PUSH_PROMISE: push is not enabled');
      default:
        return; // unknown types are ignored (RFC 9113 §4.1, §5.5)
    }
  }

  /** PRIORITY is deprecated (RFC 9113 §5.3.2) and ignored, but checked, and counted against floods. */
  private onPriority(id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
    this.guard.priority();
    if (payload.length !== 5) return this.resetId(id, ErrorCode.FRAME_SIZE_ERROR);
    if ((payload.readUInt32BE(0) & 0x7fffffff) === id) return this.resetId(id, ErrorCode.PROTOCOL_ERROR);
  }

  /** A stream error on `id`, open or not: RST_STREAM, and the stream (if open) is told. */
  private resetId(id: number, code: number): void {
    const stream = this.streams.get(id);
    if (stream !== undefined)
      return this.abort(stream, code, `the peer broke the protocol (${errorName(code)})`);
    this.sendControl(rstStreamFrame(id, code));
    this.closed.record(id, Closed.ResetByUs);
  }

  /**
   * A frame for a stream that is not open: on an idle one it is a connection error (§5.1); on one we
   * reset it is ignored (it was in flight); on one that ended it is STREAM_CLOSED.
   */
  private onNotOpen(id: number, what: string): void {
    if (this.isIdle(id)) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `${what} on idle stream ${id}`);
    if (this.closed.how(id) === Closed.Ended)
      throw new ConnectionError(ErrorCode.STREAM_CLOSED, `${what} on closed stream ${id}`);
  }

  private onData(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    const flowed = end - start;
    this.recvWindow -= flowed;
    if (this.recvWindow < 0)
      throw new ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, 'DATA beyond the connection window');
    if (flags & Flag.PADDED) {
      if (flowed === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PADDED DATA without a length');
      const pad = buf[start];
      if (pad >= flowed) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'padding exceeds DATA');
      start += 1;
      end -= pad;
    }
    if (end === start) {
      if (!(flags & Flag.END_STREAM)) this.guard.empty();
    } else this.guard.nonEmpty();
    const stream = this.streams.get(id);
    if (stream === undefined || stream.remoteEnded) {
      this.creditConnection(flowed); // a stream we reset may still have DATA in flight
      if (stream !== undefined)
        this.abort(stream, ErrorCode.STREAM_CLOSED, 'the peer sent DATA after ending');
      else this.onNotOpen(id, 'DATA');
      return;
    }
    if (stream.expectedLength >= 0) {
      stream.expectedLength -= end - start;
      if (stream.expectedLength < 0 || (flags & Flag.END_STREAM && stream.expectedLength > 0)) {
        this.creditConnection(flowed);
        return this.malformed(stream, 'DATA does not add up to content-length');
      }
    }
    stream.recvWindow -= flowed;
    if (stream.recvWindow < 0) {
      this.creditConnection(flowed);
      this.abort(stream, ErrorCode.FLOW_CONTROL_ERROR, 'the peer sent DATA beyond the stream window');
      return;
    }
    const handler = stream.handler;
    if (end > start) {
      // Handlers keep DATA (replay buffers, held responses, queues): a copy of our own, out of the read buffer.
      const data = Buffer.allocUnsafe(end - start);
      copyBytes(buf, start, end, data, 0);
      if (handler === undefined) (stream.early ??= []).push(data);
      else handler.onData(stream, data);
    }
    if (handler === undefined || stream.paused) stream.owed += flowed;
    else this.credit(stream, flowed);
    if (flags & Flag.END_STREAM && !stream.closed) {
      stream.remoteEnded = true;
      handler?.onEnd(stream);
      this.maybeClosed(stream);
    }
  }

  private onHeadersFrame(flags: number, id: number, buf: Buffer, start: number, end: number): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS on stream 0');
    if (flags & Flag.PADDED) {
      if (end === start)
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PADDED HEADERS without a length');
      end -= buf[start];
      start += 1;
    }
    if (flags & Flag.PRIORITY) {
      if (end - start < 5)
        throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'HEADERS priority truncated');
      // A stream depending on itself (§5.3.1): a stream error, once the block kept the table in step.
      if ((buf.readUInt32BE(start) & 0x7fffffff) === id) flags |= SELF_DEPENDENT;
      start += 5;
    }
    if (start > end) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'HEADERS padding exceeds the frame');
    if (end === start) this.guard.empty();
    else this.guard.nonEmpty();
    if (flags & Flag.END_HEADERS) this.onHeaderBlock(id, flags, buf, start, end);
    else
      this.continuation = {
        id,
        flags,
        parts: end > start ? [Buffer.from(buf.subarray(start, end))] : [],
        size: end - start,
        frames: 0,
      };
  }

  private onContinuation(flags: number, id: number, payload: Buffer): void {
    const c = this.continuation;
    if (c === undefined || c.id !== id)
      throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `unexpected CONTINUATION on stream ${id}`);
    if (++c.frames > this.limits.maxContinuationFrames)
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        `a header block in more than ${this.limits.maxContinuationFrames} CONTINUATION frames`,
        'continuation_flood',
      );
    if (payload.length === 0) this.guard.empty();
    else {
      this.guard.nonEmpty();
      c.parts.push(Buffer.from(payload));
      c.size += payload.length;
    }
    if (c.size > this.limits.maxHeaderBlockBytes)
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        `header block over ${this.limits.maxHeaderBlockBytes} bytes`,
        'header_block_too_large',
      );
    if (flags & Flag.END_HEADERS) {
      this.continuation = undefined;
      this.onHeaderBlock(id, c.flags, Buffer.concat(c.parts, c.size), 0, c.size);
    }
  }

  /** The header block buf[start, end). */
  private onHeaderBlock(id: number, flags: number, buf: Buffer, start: number, end: number): void {
    const headers = this.decoder.decode(buf, start, end); // always: the table must stay in step with the peer's
    const endStream = (flags & Flag.END_STREAM) !== 0;
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (flags & SELF_DEPENDENT) return this.resetId(id, ErrorCode.PROTOCOL_ERROR);
      this.onNewStream(id, headers, endStream, this.decoder.listSize);
      return;
    }
    if (stream.remoteEnded)
      return this.abort(stream, ErrorCode.STREAM_CLOSED, 'HEADERS after the peer ended');
    if (flags & SELF_DEPENDENT)
      return this.abort(stream, ErrorCode.PROTOCOL_ERROR, 'stream depends on itself');
    if (this.decoder.listSize > this.limits.maxHeaderListSize) {
      this.stats?.violation('header_list_too_large');
      this.abort(
        stream,
        ErrorCode.PROTOCOL_ERROR,
        `header list of ${this.decoder.listSize} bytes exceeds ${this.limits.maxHeaderListSize}`,
      );
      return;
    }
    if (!this.isServer() && !stream.headersReceived) {
      // The response's headers: informational (1xx) ones are not the response, and are dropped.
      if (informational(headers)) {
        if (endStream) this.abort(stream, ErrorCode.PROTOCOL_ERROR, 'a 1xx response ended the stream');
        return;
      }
      stream.headersReceived = true;
    } else {
      // Trailers (§8.1): they end the stream and carry no pseudo-headers.
      const bad = endStream ? checkTrailers(headers) : 'a second header block without END_STREAM';
      if (bad !== undefined) return this.malformed(stream, bad);
      if (stream.expectedLength > 0) return this.malformed(stream, 'DATA does not add up to content-length');
    }
    if (endStream) stream.remoteEnded = true;
    stream.handler?.onHeaders(stream, headers, endStream);
    if (endStream) this.maybeClosed(stream);
  }

  /**
   * A malformed message on an open stream (§8.1.1): a stream error PROTOCOL_ERROR, counted. On a
   * request, the caller's fault, refused before any instance is blamed.
   */
  protected malformed(stream: H2Stream, why: string): void {
    if (this.stats) this.stats.malformedRequest(why);
    this.abort(stream, ErrorCode.PROTOCOL_ERROR, `malformed: ${why}`);
  }

  private onRstStream(id: number, payload: Buffer): void {
    if (id === 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM length');
    const stream = this.streams.get(id);
    if (stream === undefined) {
      if (this.isIdle(id))
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
      return; // closed: nothing to do
    }
    const code = payload.readUInt32BE(0);
    // A client's cancel of a call not yet answered in full: what rapid reset repeats.
    const premature = this.isServer() && !stream.localEnded;
    this.closeStream(stream, code, `stream reset by the peer (${errorName(code)})`, true);
    if (premature) this.guard.prematureReset();
  }

  /** A stream id never opened on this connection (frames on it are a protocol error). */
  protected abstract isIdle(id: number): boolean;

  private onSettings(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if (flags & Flag.ACK) {
      if (payload.length !== 0)
        throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with a payload');
      return;
    }
    const settings = parseSettings(payload, this.limits, this.isServer());
    if (settings.headerTableSize !== undefined) this.encoder.setMaxTableSize(settings.headerTableSize);
    if (settings.maxConcurrentStreams !== undefined) this.peerMaxStreams = settings.maxConcurrentStreams;
    if (settings.maxFrameSize !== undefined) this.peerMaxFrame = settings.maxFrameSize;
    if (settings.initialWindowSize !== undefined) this.changeInitialWindow(settings.initialWindowSize);
    this.sendControl(frame(FrameType.SETTINGS, Flag.ACK, 0));
  }

  private changeInitialWindow(value: number): void {
    const delta = value - this.peerInitialWindow;
    this.peerInitialWindow = value;
    for (const stream of this.streams.list()) {
      if (stream.sendWindow + delta > MAX_WINDOW)
        throw new ConnectionError(
          ErrorCode.FLOW_CONTROL_ERROR,
          `INITIAL_WINDOW_SIZE ${value} grows stream ${stream.id}'s window past 2^31-1 (§6.9.2)`,
        );
      stream.sendWindow += delta;
      if (delta > 0 && stream.queue !== undefined && stream.queue.length > 0) this.flushStream(stream, true);
    }
  }

  private onPing(flags: number, id: number, payload: Buffer): void {
    if (id !== 0) throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
    if (payload.length !== 8) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'PING length');
    if (!(flags & Flag.ACK)) {
      this.sendControl(frame(FrameType.PING, Flag.ACK, 0, payload));
      return;
    }
    const key = payload.readUInt32BE(4);
    const done = this.pings?.get(key);
    this.pings?.delete(key);
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
    for (const stream of this.streams.list())
      if (stream.id > lastId && stream.id % 2 === (this.isServer() ? 0 : 1))
        this.closeStream(stream, ErrorCode.REFUSED_STREAM, `${why}; the stream was not processed`, true);
    this.onGoaway?.();
    if (this.streams.size === 0) this.endSocket();
  }

  private onWindowUpdate(id: number, payload: Buffer): void {
    if (payload.length !== 4) throw new ConnectionError(ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE length');
    this.guard.windowUpdate(this.dataFramesSent);
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
    if (stream === undefined) {
      if (this.isIdle(id))
        throw new ConnectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
      return; // closed: a credit for nothing
    }
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
      this.sendFrame(windowUpdateFrame(stream.id, stream.unacked));
      stream.recvWindow += stream.unacked;
      stream.unacked = 0;
    }
  }

  private creditConnection(n: number): void {
    this.unacked += n;
    if (this.unacked >= LOCAL.connectionWindow / 4) {
      this.sendFrame(windowUpdateFrame(0, this.unacked));
      this.recvWindow += this.unacked;
      this.unacked = 0;
    }
  }

  /** Whole frames read so far, and bytes of one begun (the sweeper tells a frame dripped in by them). */
  get framesRead(): number {
    return this.reader.framesRead;
  }

  get partialFrameBytes(): number {
    return this.reader.pendingBytes;
  }

  /**
   * Bytes this connection holds in the router (accounted for maxConnectionMemory): a partial frame, a
   * header block in CONTINUATIONs, DATA that came before a handler, DATA queued for the peer's windows,
   * and unsent output. Computed on demand (the sweeper), never on the per-call path.
   */
  memoryBytes(): number {
    let n = this.reader.pendingBytes + (this.continuation?.size ?? 0) + this.outputBytes;
    for (const stream of this.streams.list()) {
      if (stream.early !== undefined) for (const b of stream.early) n += b.length;
      if (stream.queue !== undefined) for (const b of stream.queue) n += b.length;
    }
    return n;
  }
}

/** onHeadersFrame's mark on `flags` for a HEADERS frame whose priority names its own stream. */
const SELF_DEPENDENT = 0x100;

/** Whether response headers are informational (:status 1xx), which precede the response. */
function informational(headers: readonly string[]): boolean {
  return headers.length >= 2 && headers[0] === ':status' && headers[1].charCodeAt(0) === 0x31; // '1'
}
