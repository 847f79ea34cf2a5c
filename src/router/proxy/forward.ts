import { performance } from 'node:perf_hooks';
import type { RoutableEndpoint } from '../balancer/picker';
import { ErrorCode } from '../../protocol/h2/frames';
import { afterRead } from '../../protocol/h2/read-turn';
import type { H2Stream, StreamHandler } from '../../protocol/h2/stream';
import { backoffMs } from '../resilience/retry-policy';
import type { ForwardOptions } from './call-options';
import { messageOf, pushbackOf, statusOf } from './call-outcome';
import { abandonAttempt, completeCall, deadlineAt, recordAttempt, sendHeld } from './call-lifecycle';
import { Status, respondError, statusTrailers } from './grpc-status';
import { grpcTimeoutHeader, parseGrpcTimeout } from './grpc-timeout';
import { CallSpan } from '../tracing/call-span';
import { type HeaderList, headerValue, withoutHeader } from '../http/headers';
import { noteOrca } from '../stats/instance-stats';
import { ReplayBuffer } from './replay-buffer';
import { COLD_START_HEADER } from './cold-start';
import { HeldResponse } from './held-response';
import { type Holder, holdFor, releaseHold } from './hold-timer';
import type { MirrorCopy } from '../canary/mirror-copy';

/**
 * Carries one call at the HTTP/2 stream level: request headers and body bytes go up as they come,
 * response headers, body and trailers come back; payloads are never decoded. A trailers-only answer stays
 * trailers-only; a caller's cancel resets the upstream stream. Backpressure passes through: a side that
 * cannot take more pauses the other's flow-control credit.
 *
 * Retries (gRFC A6): until the response is committed (headers received), an attempt that fails with a
 * retryable status or without answering is retried on another instance after a jittered exponential
 * backoff, replaying the buffered request, within the attempt limit, the retry budget and the deadline.
 * Otherwise the failure reaches the caller, naming the instance.
 */
export function forward(
  down: H2Stream,
  endpoint: RoutableEndpoint,
  options: ForwardOptions,
  mirror?: MirrorCopy,
): void {
  new ForwardedCall(down, options, mirror).begin(endpoint);
}

class ForwardedCall implements StreamHandler, Holder {
  /** Request headers for the instance, without grpc-timeout when we send our own. */
  private out: HeaderList;
  private timeout: readonly string[] | undefined;
  private readonly callerTimeout: boolean;
  private readonly deadlineAt: number;
  private readonly request = new ReplayBuffer();
  private requestEnded = false;
  private attached = false;
  private transparent = false;
  /** Instances tried, made on the first retry (most calls have one attempt). */
  private tried: Set<string> | undefined;
  private attempts = 0;
  private retrying = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private attemptTimer: NodeJS.Timeout | undefined;
  /** This attempt's deadline is the per-attempt timeout, shorter than what is left of the call's. */
  private attemptCut = false;
  private endpoint!: RoutableEndpoint;
  private up: H2Stream | undefined;
  private attemptStarted = 0;
  private attemptOver = true;
  private responded = false;
  /** The start of the response, not yet sent on (HOLD_MS). */
  private held: HeldResponse | undefined;
  holdTicket = 0;
  private over = false;
  private readonly startedAt = performance.now();
  /** The endpoint a scheduled retry will go to (it holds a probe permit if its circuit is half-open). */
  private pending: RoutableEndpoint | undefined;

  constructor(
    private readonly down: H2Stream,
    private readonly options: ForwardOptions,
    /** A copy of the call to a canary (mirroring): gets every request byte, never holds the call up. */
    private readonly mirror: MirrorCopy | undefined,
  ) {
    this.out = options.coldStart === true ? [...down.headers, COLD_START_HEADER, 'true'] : down.headers;
    const callerBudget = parseGrpcTimeout(headerValue(down.headers, 'grpc-timeout'));
    this.callerTimeout = callerBudget !== undefined;
    this.deadlineAt = deadlineAt(callerBudget, options, this.startedAt);
  }

  begin(endpoint: RoutableEndpoint): void {
    const left = this.deadlineAt - this.startedAt; // begin() follows the constructor at once
    if (left <= 0) {
      endpoint.breaker?.record('ignored', 0);
      if (this.mirror !== undefined) this.mirror.callerGone();
      this.complete(Status.DEADLINE_EXCEEDED);
      respondError(
        this.down,
        Status.DEADLINE_EXCEEDED,
        `deadline exceeded after ${Math.round(this.options.waitedMs)} ms queued for engine "${endpoint.engine}"`,
      );
      return;
    }
    this.attempt(endpoint);
    this.attach(); // the first attempt failed at once: what the caller sent waits for the next
  }

  /**
   * Takes the caller's stream over: what it sent while the call waited comes now, straight to the first
   * attempt when there is one (so a large early request still goes through, if no longer retryable).
   */
  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.down.attach(this);
  }

  private attempt(endpoint: RoutableEndpoint): void {
    this.tried?.add(endpoint.id);
    this.endpoint = endpoint;
    const span = this.down.observer;
    if (span instanceof CallSpan) span.attempted(endpoint.id);
    this.attempts++;
    // The first attempt starts with the call (no clock read); another, now.
    this.attemptStarted = this.attemptStarted === 0 ? this.startedAt : performance.now();
    this.attemptOver = false;
    endpoint.stats.started(this.attemptStarted);
    // Keep the caller's header as it is when nothing was spent here; otherwise send what is left, or the
    // per-attempt timeout when that is shorter.
    const perAttempt = this.options.retry?.retry?.perAttemptTimeoutMs ?? 0;
    const left = this.deadlineAt - this.attemptStarted;
    this.attemptCut =
      perAttempt > 0 && perAttempt < left && this.attempts < this.options.retry!.retry!.maxAttempts;
    if (this.attemptCut) {
      this.setTimeout(perAttempt);
    } else if (
      Number.isFinite(this.deadlineAt) &&
      (this.attempts > 1 || this.options.waitedMs > 0 || !this.callerTimeout)
    ) {
      this.setTimeout(left);
    }
    let up: H2Stream;
    try {
      up = this.options.pool
        .connection(endpoint.address)
        .request(this.out, this.timeout, this, this.down.added, this.down.addedSeed);
    } catch (err) {
      this.options.eject?.(endpoint, `unreachable: ${(err as Error).message}`);
      this.attemptFailed(Status.UNAVAILABLE, `unreachable: ${(err as Error).message}`);
      return;
    }
    this.up = up;
    if (!this.attached) {
      this.attach();
    } else {
      for (const chunk of this.request.chunks) up.write(chunk);
      if (this.requestEnded) up.end();
    }
    if (this.attemptCut)
      this.attemptTimer = setTimeout(() => this.onAttemptTimeout(up, perAttempt), perAttempt);
  }

  private setTimeout(ms: number): void {
    if (this.timeout === undefined && this.callerTimeout) this.out = withoutHeader(this.out, 'grpc-timeout');
    this.timeout = grpcTimeoutHeader(ms);
  }

  /** The per-attempt timeout passed without response headers: cancel this attempt, try another instance. */
  private onAttemptTimeout(up: H2Stream, ms: number): void {
    this.attemptTimer = undefined;
    if (up !== this.up || this.responded || this.attemptOver || this.down.closed) return;
    this.up = undefined; // its end is ours, not the instance failing
    up.reset(ErrorCode.CANCEL);
    this.attemptFailed(Status.DEADLINE_EXCEEDED, `no answer within the ${ms} ms per-attempt timeout`, true);
  }

  // ---- StreamHandler: the caller's stream (down) and the instance's (up) ----

  onData(stream: H2Stream, chunk: Buffer): void {
    if (stream === this.down) return this.onRequestData(chunk);
    if (stream !== this.up) return;
    if (this.held !== undefined) {
      if (!this.held.add(chunk)) this.commit();
      return;
    }
    if (!this.down.write(chunk)) stream.pause(); // resumed in onDrain
  }

  onEnd(stream: H2Stream): void {
    if (stream === this.down) {
      this.requestEnded = true;
      this.up?.end();
      if (this.mirror !== undefined) this.mirror.end();
    } else if (stream === this.up) {
      this.onUpstreamGone(stream, 'the instance ended the response without a status');
    }
  }

  onHeaders(stream: H2Stream, headers: readonly string[], endStream: boolean): void {
    if (stream === this.down) {
      this.onEnd(stream); // request trailers: gRPC has none to pass on; they end the request
    } else if (stream === this.up) {
      if (!this.responded && this.held === undefined) this.onResponse(headers, endStream);
      else this.onTrailers(headers, endStream);
    }
  }

  onReset(stream: H2Stream, code: number, why: string): void {
    if (stream === this.down) this.onCallerGone();
    else if (stream === this.up) {
      if (code === ErrorCode.REFUSED_STREAM && !this.responded && this.transparentRetry()) return;
      this.onUpstreamGone(stream, why || `stream reset (code ${code})`);
    }
  }

  onDrain(stream: H2Stream): void {
    if (stream === this.down) this.up?.resume();
    else this.down.resume();
  }

  // ----

  /**
   * The instance refused the stream unprocessed (GOAWAY while shutting down, or REFUSED_STREAM): as gRPC
   * clients do, send it again at once, once per call, whatever the retry policy: nothing ran, so nothing
   * can run twice. Not an error of the instance. False when it cannot be resent (request too big to replay).
   */
  private transparentRetry(): boolean {
    if (this.transparent || !this.request.replayable || this.down.closed) return false;
    this.transparent = true;
    this.attemptOver = true;
    clearTimeout(this.attemptTimer);
    abandonAttempt(this.endpoint);
    this.up = undefined;
    this.attempts--;
    this.tried?.delete(this.endpoint.id);
    // Another instance when there is one (the refusing one is likely shutting down), else the same one
    // again: the pool opens a new connection, as the refusing one is going away.
    const next = this.options.retry?.repick(new Set([this.endpoint.id])) ?? this.endpoint;
    this.attempt(next);
    return true;
  }

  private onRequestData(chunk: Buffer): void {
    this.request.add(chunk);
    if (this.mirror !== undefined) this.mirror.write(chunk);
    const up = this.up;
    if (up !== undefined && !up.write(chunk) && !up.closed) this.down.pause(); // resumed in onDrain
  }

  private onResponse(response: readonly string[], endStream: boolean): void {
    if (this.down.closed) return;
    const headers = this.options.coldStart === true ? [...response, COLD_START_HEADER, 'true'] : response;
    if (endStream) {
      const code = statusOf(headers);
      // The instance giving up at the per-attempt deadline we sent it is the per-attempt timeout too.
      const timedOut = code === Status.DEADLINE_EXCEEDED && this.attemptCut;
      if (code !== Status.OK && this.mayRetry(code, timedOut)) {
        this.up = undefined;
        this.attemptFailed(code, messageOf(headers, `status ${code}`), timedOut, pushbackOf(headers));
        return;
      }
      const end = this.finishAttempt(code);
      this.down.respond(headers, true);
      this.complete(code, end);
      return;
    }
    this.held = new HeldResponse(headers); // sent on with the trailers, a second message, or HOLD_MS
    afterRead(armHold, this); // the trailers may be in the same read
  }

  /** A response still held once the bytes read with it are handled: wait HOLD_MS for more. */
  armHold(): void {
    if (this.held !== undefined && this.holdTicket === 0) holdFor(this);
  }

  holdExpired(): void {
    this.commit();
  }

  /** Sends the held start of the response on: from here on, no retry. */
  commit(): void {
    const held = this.held;
    if (held === undefined || this.down.closed) return;
    this.dropHeld();
    this.responded = true;
    clearTimeout(this.attemptTimer);
    if (sendHeld(this.down, held)) this.up?.pause(); // resumed in onDrain
  }

  private dropHeld(): void {
    this.held = undefined;
    releaseHold(this);
  }

  private onTrailers(trailers: readonly string[], endStream: boolean): void {
    if (!endStream) return; // a second non-final header block: not gRPC; its trailers follow
    if (this.held !== undefined) this.commit();
    const code = statusOf(trailers);
    // grpc-status and grpc-message fill four places; only a longer list can carry an ORCA report.
    if (trailers.length > 4 && this.endpoint !== undefined) noteOrca(this.endpoint.stats, trailers);
    const end = this.finishAttempt(code);
    this.down.end(trailers);
    this.complete(code, end);
  }

  /** The instance's stream ended without a status: reset, its connection lost, or no trailers. */
  private onUpstreamGone(up: H2Stream, why: string): void {
    if (up !== this.up || this.over || this.down.closed) return;
    this.up = undefined;
    if (!this.responded) {
      // The caller's own cancel never gets here (onCallerGone): whatever closed this stream is the
      // instance failing.
      this.options.eject?.(this.endpoint, `connection failure: ${why}`);
      this.attemptFailed(Status.UNAVAILABLE, why);
      return;
    }
    this.finishAttempt(Status.UNAVAILABLE);
    this.down.end(
      statusTrailers(Status.UNAVAILABLE, `${this.where()} ended the response without a status: ${why}`),
    );
    this.complete(Status.UNAVAILABLE);
  }

  /**
   * An attempt failed before the response was committed: retry it elsewhere, or tell the caller.
   * `pushbackMs` (gRFC A6) is the instance's grpc-retry-pushback-ms: a delay to wait instead of the
   * backoff, or negative: do not retry.
   */
  private attemptFailed(code: number, why: string, timedOut = false, pushbackMs?: number): void {
    this.dropHeld();
    this.finishAttempt(code);
    this.up = undefined;
    const refused = pushbackMs !== undefined && pushbackMs < 0;
    const retryable = !refused && this.mayRetry(code, timedOut);
    const next = retryable
      ? this.options.retry!.repick((this.tried ??= new Set([this.endpoint.id])))
      : undefined;
    const delay = next ? (pushbackMs ?? backoffMs(this.options.retry!.retry!, this.attempts)) : 0;
    const inTime = performance.now() + delay < this.deadlineAt;
    if (next && inTime && this.acquireRetry()) {
      this.pending = next;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pending = undefined;
        if (!this.down.closed) this.attempt(next);
        else next.breaker?.record('ignored', 0);
      }, delay);
      return;
    }
    next?.breaker?.record('ignored', 0); // picked, but not tried: a probe permit goes back
    let notRetried = '';
    if (refused) notRetried = '; not retried: the instance asked not to (grpc-retry-pushback-ms)';
    else if (retryable && !next) notRetried = '; not retried: no other instance to try';
    else if (next && !inTime) notRetried = '; not retried: no time left before the deadline';
    else if (next) notRetried = `; not retried: ${this.options.retry!.budget.describe()}`;
    const attempts = this.attempts > 1 ? ` (after ${this.attempts} attempts)` : '';
    this.complete(code);
    respondError(this.down, code, `${this.where()} failed before answering${attempts}: ${why}${notRetried}`);
  }

  /** `timedOut`: the attempt hit its per-attempt timeout, which is always worth another instance. */
  private mayRetry(code: number, timedOut = false): boolean {
    const r = this.options.retry?.retry;
    if (
      !r ||
      !this.request.replayable ||
      this.responded ||
      this.attempts >= r.maxAttempts ||
      this.down.closed
    )
      return false;
    return timedOut || code === Status.UNAVAILABLE || r.codes.has(code);
  }

  /** Every retry spends a token; the call holds one concurrency slot, however many attempts it makes. */
  private acquireRetry(): boolean {
    const ctx = this.options.retry!;
    if (!ctx.budget.tryRetry(ctx.inFlight(), this.retrying)) return false;
    this.retrying = true;
    return true;
  }

  /** Records the attempt's outcome; returns the time it ended (0 if it had already). */
  private finishAttempt(code: number): number {
    if (this.attemptOver) return 0;
    this.attemptOver = true;
    clearTimeout(this.attemptTimer);
    return recordAttempt(this.endpoint, this.options, code, this.attemptStarted);
  }

  private onCallerGone(): void {
    this.dropHeld();
    if (this.mirror !== undefined) this.mirror.callerGone();
    clearTimeout(this.retryTimer);
    this.pending?.breaker?.record('ignored', 0);
    this.pending = undefined;
    this.up?.reset(ErrorCode.CANCEL);
    this.up = undefined;
    if (this.endpoint !== undefined) this.finishAttempt(Status.CANCELLED);
    this.complete(Status.CANCELLED);
  }

  /** The call is over; `endedAt`: when, if the caller has just read the clock. */
  private complete(code: number, endedAt = 0): void {
    if (this.over) return;
    this.over = true;
    completeCall(this.options, code, this.startedAt, this.retrying, endedAt);
  }

  private where(): string {
    return `engine "${this.endpoint.engine}" instance "${this.endpoint.id}" at ${this.endpoint.address}`;
  }
}

function armHold(call: ForwardedCall): void {
  call.armHold();
}
