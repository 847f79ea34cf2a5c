import * as http2 from 'node:http2';
import type { RoutableEndpoint } from '../balancer/picker';
import { backoffMs } from '../resilience/retry-policy';
import type { ForwardOptions } from './call-options';
import { outcomeOf, REQUEST_PSEUDO, RESPONSE_PSEUDO, statusOf } from './call-outcome';
import { Status, encodeGrpcMessage, respondError } from './grpc-status';
import { formatGrpcTimeout, parseGrpcTimeout } from './grpc-timeout';
import { passHeaders } from './headers';
import { relay } from './relay';

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM } = http2.constants;
/** Request bytes kept for replay; a call whose request grows past this is no longer retried. */
const MAX_REPLAY_BYTES = 64 * 1024;

/**
 * Carries one call at the HTTP/2 stream level: request headers and body frames go up as they come,
 * response headers, body and trailers come back; payloads are never decoded. A trailers-only answer stays
 * trailers-only; a caller's cancel resets the upstream stream.
 *
 * Retries (gRFC A6): until the response is committed (headers received), an attempt that fails with a
 * retryable status or without answering is retried on another instance after a jittered exponential
 * backoff, replaying the buffered request, within the attempt limit, the retry budget and the deadline.
 * Otherwise the failure reaches the caller, naming the instance.
 */
export function forward(
  down: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  endpoint: RoutableEndpoint,
  options: ForwardOptions,
): void {
  new ForwardedCall(down, headers, options).begin(endpoint);
}

class ForwardedCall {
  private readonly out: http2.OutgoingHttpHeaders;
  private readonly callerTimeout: boolean;
  private deadlineAt = Infinity;
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private replayable = true;
  private requestEnded = false;
  private readonly tried = new Set<string>();
  private attempts = 0;
  private retrying = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private attemptTimer: NodeJS.Timeout | undefined;
  /** This attempt's deadline is the per-attempt timeout, shorter than what is left of the call's. */
  private attemptCut = false;
  private endpoint!: RoutableEndpoint;
  private up: http2.ClientHttp2Stream | undefined;
  private attemptStarted = 0;
  private attemptOver = true;
  private responded = false;
  private trailers: http2.IncomingHttpHeaders | undefined;
  private upstreamError = '';
  private over = false;
  private readonly startedAt = performance.now();
  /** The endpoint a scheduled retry will go to (it holds a probe permit if its circuit is half-open). */
  private pending: RoutableEndpoint | undefined;

  constructor(
    private readonly down: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    private readonly options: ForwardOptions,
  ) {
    this.out = passHeaders(headers, REQUEST_PSEUDO);
    const callerBudget = parseGrpcTimeout(headers['grpc-timeout']);
    this.callerTimeout = callerBudget !== undefined;
    const budget = callerBudget ?? (options.defaultTimeoutMs > 0 ? options.defaultTimeoutMs : undefined);
    if (budget !== undefined) this.deadlineAt = performance.now() + budget - options.waitedMs;
    down.on('data', (chunk: Buffer) => this.onRequestData(chunk));
    down.on('end', () => {
      this.requestEnded = true;
      this.up?.end();
    });
    down.on('wantTrailers', () => this.sendTrailers());
    down.on('error', () => undefined); // a caller's reset shows up as 'close'
    down.on('close', () => this.onCallerGone());
  }

  begin(endpoint: RoutableEndpoint): void {
    const left = this.deadlineAt - performance.now();
    if (left <= 0) {
      endpoint.breaker?.record('ignored', 0);
      this.complete(Status.DEADLINE_EXCEEDED);
      respondError(
        this.down,
        Status.DEADLINE_EXCEEDED,
        `deadline exceeded after ${Math.round(this.options.waitedMs)} ms queued for engine "${endpoint.engine}"`,
      );
      return;
    }
    this.attempt(endpoint);
  }

  private attempt(endpoint: RoutableEndpoint): void {
    this.endpoint = endpoint;
    this.tried.add(endpoint.id);
    this.attempts++;
    this.attemptStarted = performance.now();
    this.attemptOver = false;
    this.upstreamError = '';
    endpoint.stats.started();
    // Keep the caller's header as it is when nothing was spent here; otherwise send what is left, or the
    // per-attempt timeout when that is shorter.
    const perAttempt = this.options.retry?.retry?.perAttemptTimeoutMs ?? 0;
    const left = this.deadlineAt - this.attemptStarted;
    this.attemptCut =
      perAttempt > 0 && perAttempt < left && this.attempts < this.options.retry!.retry!.maxAttempts;
    if (this.attemptCut) {
      this.out['grpc-timeout'] = formatGrpcTimeout(perAttempt);
    } else if (
      Number.isFinite(this.deadlineAt) &&
      (this.attempts > 1 || this.options.waitedMs > 0 || !this.callerTimeout)
    ) {
      this.out['grpc-timeout'] = formatGrpcTimeout(left);
    }
    let up: http2.ClientHttp2Stream;
    try {
      up = this.options.pool.session(endpoint.address).request(this.out);
    } catch (err) {
      this.options.eject?.(endpoint, `unreachable: ${(err as Error).message}`);
      this.attemptFailed(Status.UNAVAILABLE, `unreachable: ${(err as Error).message}`);
      return;
    }
    this.up = up;
    for (const chunk of this.chunks) up.write(chunk);
    if (this.requestEnded) up.end();
    up.on('response', (h, flags) => this.onResponse(up, h, flags));
    up.on('trailers', (t) => {
      if (up === this.up) this.trailers = t;
    });
    up.on('error', (err) => {
      if (up === this.up) this.upstreamError = err.message;
    });
    up.on('close', () => this.onUpstreamClose(up));
    if (this.attemptCut)
      this.attemptTimer = setTimeout(() => this.onAttemptTimeout(up, perAttempt), perAttempt);
  }

  /** The per-attempt timeout passed without response headers: cancel this attempt, try another instance. */
  private onAttemptTimeout(up: http2.ClientHttp2Stream, ms: number): void {
    this.attemptTimer = undefined;
    if (up !== this.up || this.responded || this.attemptOver || this.down.destroyed) return;
    this.up = undefined; // its close is ours, not the instance failing
    if (!up.closed) up.close(NGHTTP2_CANCEL);
    this.attemptFailed(Status.DEADLINE_EXCEEDED, `no answer within the ${ms} ms per-attempt timeout`, true);
  }

  private onRequestData(chunk: Buffer): void {
    if (this.replayable) {
      this.buffered += chunk.length;
      if (this.buffered > MAX_REPLAY_BYTES) {
        this.replayable = false; // too big to replay: this call is no longer retried
        this.chunks.length = 0;
      } else {
        this.chunks.push(chunk);
      }
    }
    const up = this.up;
    if (up && !up.destroyed && !up.write(chunk)) {
      this.down.pause();
      up.once('drain', () => this.down.resume());
    }
  }

  private onResponse(
    up: http2.ClientHttp2Stream,
    responseHeaders: http2.IncomingHttpHeaders,
    flags: number,
  ): void {
    if (up !== this.up || this.down.destroyed) return;
    if (flags & NGHTTP2_FLAG_END_STREAM) {
      const code = statusOf(responseHeaders);
      // The instance giving up at the per-attempt deadline we sent it is the per-attempt timeout too.
      const timedOut = code === Status.DEADLINE_EXCEEDED && this.attemptCut;
      if (code !== Status.OK && this.mayRetry(code, timedOut)) {
        const message = responseHeaders['grpc-message'];
        this.attemptFailed(
          code,
          typeof message === 'string' ? decodeURIComponent(message) : `status ${code}`,
          timedOut,
          pushbackOf(responseHeaders),
        );
        return;
      }
      this.finishAttempt(code);
      this.down.respond(passHeaders(responseHeaders, RESPONSE_PSEUDO), { endStream: true });
      this.complete(code);
      return;
    }
    this.responded = true; // committed: from here on, no retry
    this.down.respond(passHeaders(responseHeaders, RESPONSE_PSEUDO), { waitForTrailers: true });
    relay(up, this.down);
  }

  private onUpstreamClose(up: http2.ClientHttp2Stream): void {
    if (up !== this.up || this.over || this.down.destroyed) return;
    if (!this.responded) {
      if (this.attemptOver) return; // answered trailers-only
      // The caller's own cancel never gets here (onCallerGone): whatever closed this stream, even a reset
      // Node reports as CANCEL when the instance's connection dies, is the instance failing.
      const why = this.upstreamError || `stream reset (code ${up.rstCode})`;
      this.options.eject?.(this.endpoint, `connection failure: ${why}`);
      this.attemptFailed(Status.UNAVAILABLE, why);
    } else if (this.trailers === undefined && !this.down.writableEnded) {
      this.down.end(); // headers went out: the status goes in trailers (sendTrailers)
    }
  }

  private sendTrailers(): void {
    if (this.trailers !== undefined) {
      const code = statusOf(this.trailers);
      this.finishAttempt(code);
      this.down.sendTrailers(passHeaders(this.trailers, []));
      this.complete(code);
      return;
    }
    this.finishAttempt(Status.UNAVAILABLE);
    this.down.sendTrailers({
      'grpc-status': String(Status.UNAVAILABLE),
      'grpc-message': encodeGrpcMessage(
        `${this.where()} ended the response without a status${this.upstreamError ? `: ${this.upstreamError}` : ''}`,
      ),
    });
    this.complete(Status.UNAVAILABLE);
  }

  /**
   * An attempt failed before the response was committed: retry it elsewhere, or tell the caller.
   * `pushbackMs` (gRFC A6) is the instance's grpc-retry-pushback-ms: a delay to wait instead of the
   * backoff, or negative: do not retry.
   */
  private attemptFailed(code: number, why: string, timedOut = false, pushbackMs?: number): void {
    this.finishAttempt(code);
    this.up = undefined;
    const refused = pushbackMs !== undefined && pushbackMs < 0;
    const retryable = !refused && this.mayRetry(code, timedOut);
    const next = retryable ? this.options.retry!.repick(this.tried) : undefined;
    const delay = next ? (pushbackMs ?? backoffMs(this.options.retry!.retry!, this.attempts)) : 0;
    const inTime = performance.now() + delay < this.deadlineAt;
    if (next && inTime && this.acquireRetry()) {
      this.pending = next;
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        this.pending = undefined;
        if (!this.down.destroyed) this.attempt(next);
        else next.breaker?.record('ignored', 0);
      }, delay);
      return;
    }
    next?.breaker?.record('ignored', 0); // picked, but not tried: a probe permit goes back
    let notRetried = '';
    if (refused) notRetried = '; not retried: the instance asked not to (grpc-retry-pushback-ms)';
    else if (retryable && !next) notRetried = '; not retried: no other instance to try';
    else if (next && !inTime) notRetried = '; not retried: no time left before the deadline';
    else if (next)
      notRetried = `; not retried: retry budget exhausted (${this.options.retry!.budget.retriesInProgress} retries in progress)`;
    const attempts = this.attempts > 1 ? ` (after ${this.attempts} attempts)` : '';
    this.complete(code);
    respondError(this.down, code, `${this.where()} failed before answering${attempts}: ${why}${notRetried}`);
  }

  /** `timedOut`: the attempt hit its per-attempt timeout, which is always worth another instance. */
  private mayRetry(code: number, timedOut = false): boolean {
    const r = this.options.retry?.retry;
    if (!r || !this.replayable || this.responded || this.attempts >= r.maxAttempts || this.down.destroyed)
      return false;
    return timedOut || code === Status.UNAVAILABLE || r.codes.has(code);
  }

  private acquireRetry(): boolean {
    if (this.retrying) return true; // one budget slot per call, however many attempts it makes
    const ctx = this.options.retry!;
    this.retrying = ctx.budget.tryAcquire(ctx.inFlight());
    return this.retrying;
  }

  private finishAttempt(code: number): void {
    if (this.attemptOver) return;
    this.attemptOver = true;
    clearTimeout(this.attemptTimer);
    const end = performance.now();
    const stats = this.endpoint.stats;
    const latency = end - this.attemptStarted;
    stats.finished(code, latency, end);
    this.endpoint.breaker?.record(outcomeOf(code), latency);
    const limit = this.options.consecutiveErrors ?? 0;
    if (limit > 0 && stats.consecutiveFailures >= limit)
      this.options.eject?.(this.endpoint, `${stats.consecutiveFailures} failures in a row`);
  }

  private onCallerGone(): void {
    clearTimeout(this.retryTimer);
    this.pending?.breaker?.record('ignored', 0);
    this.pending = undefined;
    if (this.up && !this.up.closed) this.up.close(NGHTTP2_CANCEL);
    this.finishAttempt(Status.CANCELLED);
    this.complete(Status.CANCELLED);
  }

  private complete(code: number): void {
    if (this.over) return;
    this.over = true;
    this.options.engineBreaker?.record(outcomeOf(code), performance.now() - this.startedAt);
    if (this.retrying) this.options.retry!.budget.release();
    this.options.done?.();
  }

  private where(): string {
    return `engine "${this.endpoint.engine}" instance "${this.endpoint.id}" at ${this.endpoint.address}`;
  }
}

/**
 * grpc-retry-pushback-ms: a non-negative integer is how long to wait before retrying; anything else that
 * is present means "do not retry" (-1); absent: undefined (gRFC A6).
 */
function pushbackOf(headers: http2.IncomingHttpHeaders): number | undefined {
  const raw = headers['grpc-retry-pushback-ms'];
  if (raw === undefined) return undefined;
  return typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : -1;
}
