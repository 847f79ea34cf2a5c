import { Buffer } from 'node:buffer';
import type * as net from 'node:net';
import { Closed, ClosedStreams } from './closed-streams';
import type { ConnectionStats } from './connection-stats';
import { FloodGuard } from './flood-guard';
import { ErrorCode, errorName, FrameType, frame, goawayFrame, reasonOf, rstStreamFrame } from './frames';
import type { H2Limits } from './limits';
import { H2Output } from './output';
import type { H2Stream } from './stream';
import { StreamTable } from './stream-table';

/**
 * The lifecycle of one HTTP/2 connection's streams and of the connection itself, either side: streams
 * opened, ended, reset (and remembered once closed), PINGs, the graceful close (GOAWAY twice on a
 * server), connection errors and the end. Sending is H2Output's; reading frames is H2Connection's.
 */
export abstract class H2Lifecycle extends H2Output {
  readonly streams = new StreamTable<H2Stream>();
  /** Highest stream id the peer opened. */
  lastPeerStreamId = 0;
  goawaySent = false;
  goawayReceived = false;
  /** Why the connection closed, once it has. */
  closeReason = '';
  onClose: ((why: string) => void) | undefined;
  /** Counters this connection adds to (its side's), if any. */
  stats: ConnectionStats | undefined;
  protected readonly guard: FloodGuard;
  protected readonly closed = new ClosedStreams();
  /** Whether a graceful close has begun (a server's first GOAWAY is out). */
  protected draining = false;
  private nextPing = 0;
  /** PINGs of ours awaiting their ACK, by payload (made at the first: most connections send none). */
  protected pings: Map<number, (err: Error | null) => void> | undefined;

  constructor(socket: net.Socket, limits: H2Limits) {
    super(socket, limits);
    this.guard = new FloodGuard(limits);
  }

  protected abstract isServer(): boolean;

  /** Resets a stream from our side: RST_STREAM, and no callback. */
  resetStream(stream: H2Stream, code: number): void {
    if (stream.closed) return;
    this.sendControl(rstStreamFrame(stream.id, code));
    this.closeStream(stream, code, '', false, true);
  }

  /** Resets a stream and tells its handler why (a peer's protocol error on that stream alone). */
  protected abort(stream: H2Stream, code: number, why: string): void {
    if (stream.closed) return;
    this.sendControl(rstStreamFrame(stream.id, code));
    this.closeStream(stream, code, why, true, true);
  }

  /** Sends a PING; `done` gets its ACK (null) or the connection's end. False when closed. */
  ping(done: (err: Error | null) => void): boolean {
    if (this.destroyed) return false;
    const key = (this.nextPing = (this.nextPing + 1) >>> 0);
    const payload = Buffer.alloc(8);
    payload.writeUInt32BE(key, 4);
    (this.pings ??= new Map()).set(key, done);
    this.sendControl(frame(FrameType.PING, 0, 0, payload));
    return true;
  }

  protected addStream(stream: H2Stream): void {
    this.streams.add(stream);
    this.guard.streamsOpened++;
  }

  /** Streams opened on this connection so far (the sweeper tells activity by it). */
  get streamsOpened(): number {
    return this.guard.streamsOpened;
  }

  /**
   * After either side ended: both ended closes the stream. A server whose response is complete while the
   * request is not asks the client to stop sending (RST_STREAM NO_ERROR, RFC 9113 §8.1); a client whose
   * response is complete stops sending (CANCEL): a stream never lingers half-open after its answer.
   */
  protected maybeClosed(stream: H2Stream): void {
    if (stream.closed) return;
    if (stream.localEnded && stream.remoteEnded) this.closeStream(stream, 0, '', false);
    else if (this.isServer() ? stream.localEnded : stream.remoteEnded)
      this.resetStream(stream, this.isServer() ? ErrorCode.NO_ERROR : ErrorCode.CANCEL);
  }

  /** `byUs`: we reset it (RST_STREAM): what the peer still sends on it, if it had not ended, is ignored. */
  protected closeStream(stream: H2Stream, code: number, why: string, notify: boolean, byUs = false): void {
    if (stream.closed) return;
    stream.closed = true;
    stream.rstCode = code;
    this.closed.record(stream.id, byUs && !stream.remoteEnded ? Closed.ResetByUs : Closed.Ended);
    stream.queue = undefined;
    stream.queuedEnd = undefined;
    this.streams.delete(stream.id);
    this.blocked?.delete(stream);
    if (stream.observer !== undefined) stream.observer.onClosed(stream, code);
    if (notify) {
      if (stream.handler !== undefined) stream.handler.onReset(stream, code, why);
      else stream.onGoneEarly?.();
    }
    if ((this.goawaySent || this.goawayReceived) && this.streams.size === 0) this.endSocket();
  }

  /**
   * Graceful close: GOAWAY naming the last stream we will process; the socket ends when they are done.
   * A server says it twice (RFC 9113 §6.8): first 2^31-1 with a PING, so that requests already on the
   * wire are not refused, then, once the PING comes back (or after a second), the last stream it took.
   */
  close(): void {
    if (this.destroyed || this.goawaySent || this.draining) return;
    if (!this.isServer()) return this.finalGoaway();
    this.draining = true;
    this.sendControl(goawayFrame(LAST_STREAM_ID, ErrorCode.NO_ERROR, 'shutting down'));
    const timer = setTimeout(() => this.finalGoaway(), 1_000);
    timer.unref();
    this.ping(() => {
      clearTimeout(timer);
      this.finalGoaway();
    });
  }

  private finalGoaway(): void {
    if (this.destroyed || this.goawaySent) return;
    this.goawaySent = true;
    this.sendControl(goawayFrame(this.lastPeerStreamId, ErrorCode.NO_ERROR, ''));
    if (this.streams.size === 0) this.endSocket();
  }

  /**
   * A connection error: GOAWAY with the code and why, then the connection closes. `reason`: its label on
   * /metrics (a limit's name, or the code's).
   */
  fail(code: number, why: string, reason = reasonOf(code)): void {
    if (this.destroyed) return;
    this.goawaySent = true;
    this.stats?.connectionError(code);
    this.stats?.violation(reason);
    this.sendControl(goawayFrame(this.lastPeerStreamId, code, why));
    this.destroy(`${errorName(code)}: ${why}`, true);
  }

  /** A limit broken where a GOAWAY may never be read (the peer is not reading): closed at once. */
  protected violated(reason: string, why: string): void {
    if (this.destroyed) return;
    this.stats?.violation(reason);
    this.destroy(`ENHANCE_YOUR_CALM: ${why}`);
  }

  protected endSocket(): void {
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
    for (const stream of this.streams.list()) this.closeStream(stream, ErrorCode.CANCEL, why, true);
    for (const done of this.pings?.values() ?? []) done(new Error(why));
    this.pings?.clear();
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
}

const LAST_STREAM_ID = 0x7fffffff;
