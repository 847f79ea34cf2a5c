/**
 * What a stream asks of its connection. An interface of its own, so that stream.ts depends on no
 * connection code (connection and output import the stream; the stream imports neither).
 */
import type { AddedField } from './hpack/added-field';

export interface StreamConnection {
  sendHeaders(
    stream: H2Stream,
    headers: readonly string[],
    extra: readonly string[] | undefined,
    endStream: boolean,
  ): void;
  sendData(stream: H2Stream, chunk: Buffer): boolean;
  sendEnd(stream: H2Stream, trailers: readonly string[]): void;
  resetStream(stream: H2Stream, code: number): void;
  credit(stream: H2Stream, n: number): void;
}

/**
 * What a stream's user hears. Callbacks, not events: one object handles both streams of a forwarded
 * call, so a call costs no closures or listener arrays.
 */
export interface StreamHandler {
  /**
   * A header block from the peer: response headers or trailers on a stream we opened, trailers on one the
   * peer opened (its request headers come with the stream). `endStream`: the peer's side ends with it.
   */
  onHeaders(stream: H2Stream, headers: readonly string[], endStream: boolean): void;
  /** Body bytes, copied out of the read buffer: the handler's to keep (a replay buffer, a held response). */
  onData(stream: H2Stream, chunk: Buffer): void;
  /** The peer ended its side with a DATA frame. */
  onEnd(stream: H2Stream): void;
  /** Reset by the peer, or its connection failed or closed first. Not called for our own reset. */
  onReset(stream: H2Stream, code: number, why: string): void;
  /** Everything queued by `write` has gone out: more may be written. */
  onDrain(stream: H2Stream): void;
}

/**
 * One HTTP/2 stream of an H2Connection. Writes go out at once while the peer's flow-control windows allow,
 * and queue in order otherwise; `write` returning false means "queued: wait for onDrain". Received bytes
 * are credited back to the peer as they are delivered, or when `resume`d after a `pause`, which is how a
 * proxy passes its slower side's backpressure on.
 */
/**
 * Told how a stream ends: the router's span of a traced call. Set on few streams (sampled calls), so the
 * stream checks for it only where it ends.
 */
export interface StreamObserver {
  /** Our side ended: with these trailers, or these headers of a trailers-only response. */
  onEndSent(stream: H2Stream, trailers: readonly string[]): void;
  /** The stream closed: `code` is the RST_STREAM code if one closed it, else 0. */
  onClosed(stream: H2Stream, code: number): void;
}

export class H2Stream {
  handler: StreamHandler | undefined;
  observer: StreamObserver | undefined;
  /**
   * A field a proxy adds for the next hop after `headers` (a trace context made for a call that came
   * without one), and the seed its value is made from: `headers` stays the decoder's shared list, so the
   * next hop's encoder reuses the block it kept for it and writes the field after.
   */
  added: AddedField | undefined;
  addedSeed = 0;
  /** The peer's window for our DATA on this stream. */
  sendWindow: number;
  /** How much more DATA the peer may send us before we credit it. */
  recvWindow: number;
  /** Received bytes not yet credited back (WINDOW_UPDATE goes when they reach a quarter window). */
  unacked = 0;
  /** Received while paused: credited on resume. */
  owed = 0;
  paused = false;
  headersSent = false;
  localEnded = false;
  remoteEnded = false;
  closed = false;
  /** The RST_STREAM code that closed it, if one did. */
  rstCode = 0;
  /** DATA waiting for window, then what ends our side (trailers, or [] for an empty END_STREAM DATA). */
  queue: Buffer[] | undefined;
  queuedEnd: readonly string[] | undefined;
  /** Data that arrived before a handler was attached (a call waiting in the admission queue). */
  early: Buffer[] | undefined;
  /** Called if the stream is reset while no handler is attached. */
  onGoneEarly: (() => void) | undefined;
  /** DATA bytes the peer's content-length still promises; -1: it sent none (RFC 9113 §8.1.1). */
  expectedLength = -1;
  /** A stream we opened has had its (final, non-1xx) response headers: a later block must end it. */
  headersReceived = false;

  constructor(
    readonly conn: StreamConnection,
    readonly id: number,
    /**
     * Request headers of a stream the peer opened; [] for one we opened. The router may replace them for
     * the next hop (a traceparent added); the list itself is never changed: the HPACK decoder shares it.
     */
    public headers: readonly string[],
    sendWindow: number,
    recvWindow: number,
  ) {
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Sends response headers (server side); `endStream` for a trailers-only response. */
  respond(headers: readonly string[], endStream: boolean): void {
    if (this.closed || this.headersSent) return;
    this.headersSent = true;
    if (endStream && this.observer !== undefined) this.observer.onEndSent(this, headers);
    this.conn.sendHeaders(this, headers, undefined, endStream);
  }

  /** Queues or sends body bytes; false when they had to queue (wait for onDrain before writing more). */
  write(chunk: Buffer): boolean {
    if (this.closed || this.localEnded || this.queuedEnd !== undefined) return false;
    return this.conn.sendData(this, chunk);
  }

  /** Ends our side: with trailers, or with an empty DATA frame; after any queued data. */
  end(trailers: readonly string[] = []): void {
    if (this.closed || this.localEnded || this.queuedEnd !== undefined) return;
    if (this.observer !== undefined) this.observer.onEndSent(this, trailers);
    if (this.queue !== undefined && this.queue.length > 0) this.queuedEnd = trailers;
    else this.conn.sendEnd(this, trailers);
  }

  /** Resets the stream (RST_STREAM); no handler callback follows. */
  reset(code: number): void {
    if (this.closed) return;
    this.conn.resetStream(this, code);
  }

  /** Attaches the handler, and hands it what arrived before. */
  attach(handler: StreamHandler): void {
    this.handler = handler;
    this.onGoneEarly = undefined;
    const early = this.early;
    this.early = undefined;
    if (early !== undefined) for (const chunk of early) handler.onData(this, chunk);
    if (this.remoteEnded && !this.closed) handler.onEnd(this);
    // What came before is credited now, unless the handler paused on it.
    if (!this.paused && !this.closed) {
      const owed = this.owed;
      this.owed = 0;
      if (owed > 0) this.conn.credit(this, owed);
    }
  }

  /** Stops crediting received bytes to the peer: it may send at most what is left of its window. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const owed = this.owed;
    this.owed = 0;
    if (owed > 0) this.conn.credit(this, owed);
  }
}
