import * as http2 from 'node:http2';
import type { RoutableEndpoint } from '../balancer/picker';
import type { Hedging } from '../resilience/retry-policy';
import { outcomeOf, REQUEST_PSEUDO, RESPONSE_PSEUDO, statusOf } from './call-outcome';
import type { ForwardOptions } from './call-options';
import { encodeGrpcMessage, respondError, Status } from './grpc-status';
import { formatGrpcTimeout, parseGrpcTimeout } from './grpc-timeout';
import { passHeaders } from './headers';
import { relay } from './relay';

const { NGHTTP2_CANCEL, NGHTTP2_FLAG_END_STREAM } = http2.constants;
/** Request bytes kept to start new copies; past this, no more copies start (those running go on). */
const MAX_HEDGE_BYTES = 64 * 1024;

/** One copy of a hedged call, on one instance. */
interface Copy {
  readonly endpoint: RoutableEndpoint;
  readonly up: http2.ClientHttp2Stream;
  readonly startedAt: number;
  over: boolean;
  trailers: http2.IncomingHttpHeaders | undefined;
  error: string;
}

/**
 * Hedging (gRFC A6) for a method listed as idempotent: the call goes to one instance; while none has
 * answered, another copy goes to a different instance every `delayMs`, up to `maxAttempts` copies. The
 * first copy to send response headers, or to end with OK or a fatal status, wins; the others are
 * cancelled. A copy failing with a non-fatal status lets the next copy start at once. Extra copies spend
 * the engine's retry budget (one slot per call), so hedging cannot multiply load during an outage.
 */
export function hedge(
  down: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  endpoint: RoutableEndpoint,
  options: ForwardOptions,
  hedging: Hedging,
): void {
  new HedgedCall(down, headers, options, hedging).begin(endpoint);
}

class HedgedCall {
  private readonly out: http2.OutgoingHttpHeaders;
  private deadlineAt = Infinity;
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private replayable = true;
  private requestEnded = false;
  private readonly copies: Copy[] = [];
  private readonly tried = new Set<string>();
  private winner: Copy | undefined;
  private timer: NodeJS.Timeout | undefined;
  private budgeted = false;
  private over = false;
  private lastFailure = '';
  private readonly startedAt = performance.now();

  constructor(
    private readonly down: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    private readonly options: ForwardOptions,
    private readonly hedging: Hedging,
  ) {
    this.out = passHeaders(headers, REQUEST_PSEUDO);
    const budget =
      parseGrpcTimeout(headers['grpc-timeout']) ??
      (options.defaultTimeoutMs > 0 ? options.defaultTimeoutMs : undefined);
    if (budget !== undefined) this.deadlineAt = this.startedAt + budget - options.waitedMs;
    down.on('data', (chunk: Buffer) => this.onRequestData(chunk));
    down.on('end', () => {
      this.requestEnded = true;
      for (const c of this.copies) if (!c.over) c.up.end();
    });
    down.on('wantTrailers', () => this.sendTrailers());
    down.on('error', () => undefined);
    down.on('close', () => this.onCallerGone());
  }

  begin(endpoint: RoutableEndpoint): void {
    if (this.deadlineAt <= performance.now()) {
      endpoint.breaker?.record('ignored', 0);
      this.fail(Status.DEADLINE_EXCEEDED, `deadline exceeded while queued for engine "${endpoint.engine}"`);
      return;
    }
    this.launch(endpoint);
    this.schedule();
  }

  private schedule(): void {
    if (this.over || this.winner || this.copies.length >= this.hedging.maxAttempts) return;
    this.timer = setTimeout(() => this.hedgeNow(), this.hedging.delayMs);
  }

  /** Starts the next copy, if the attempt limit, the request size, the deadline and the budget allow. */
  private hedgeNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const ctx = this.options.retry;
    if (this.over || this.winner || this.down.destroyed || !ctx) return;
    if (this.copies.length >= this.hedging.maxAttempts || !this.replayable) return;
    if (performance.now() >= this.deadlineAt) return;
    if (!this.budgeted && !(this.budgeted = ctx.budget.tryAcquire(ctx.inFlight()))) return;
    const next = ctx.repick(this.tried);
    if (!next) return;
    this.launch(next);
    this.schedule();
  }

  private launch(endpoint: RoutableEndpoint): void {
    this.tried.add(endpoint.id);
    endpoint.stats.started();
    const now = performance.now();
    if (Number.isFinite(this.deadlineAt)) this.out['grpc-timeout'] = formatGrpcTimeout(this.deadlineAt - now);
    let up: http2.ClientHttp2Stream;
    try {
      up = this.options.pool.session(endpoint.address).request(this.out);
    } catch (err) {
      const why = `unreachable: ${(err as Error).message}`;
      endpoint.stats.finished(Status.UNAVAILABLE, 0, now);
      endpoint.breaker?.record('failure', 0);
      this.options.eject?.(endpoint, why);
      this.copyFailed(endpoint, Status.UNAVAILABLE, why);
      return;
    }
    const copy: Copy = { endpoint, up, startedAt: now, over: false, trailers: undefined, error: '' };
    this.copies.push(copy);
    for (const chunk of this.chunks) up.write(chunk);
    if (this.requestEnded) up.end();
    up.on('response', (h, flags) => this.onResponse(copy, h, flags));
    up.on('trailers', (t) => (copy.trailers = t));
    up.on('error', (err) => (copy.error = err.message));
    up.on('close', () => this.onUpstreamClose(copy));
  }

  private onRequestData(chunk: Buffer): void {
    if (this.replayable) {
      this.buffered += chunk.length;
      if (this.buffered > MAX_HEDGE_BYTES) {
        this.replayable = false;
        this.chunks.length = 0;
      } else {
        this.chunks.push(chunk);
      }
    }
    for (const c of this.copies) {
      if (c.over || c.up.destroyed || c.up.write(chunk)) continue;
      this.down.pause();
      c.up.once('drain', () => this.down.resume());
    }
  }

  private onResponse(copy: Copy, headers: http2.IncomingHttpHeaders, flags: number): void {
    if (copy.over || this.winner || this.over || this.down.destroyed) return;
    if (flags & NGHTTP2_FLAG_END_STREAM) {
      const code = statusOf(headers);
      this.finishCopy(copy, code);
      if (code !== Status.OK && this.hedging.nonFatal.has(code)) {
        const message = headers['grpc-message'];
        this.copyFailed(
          copy.endpoint,
          code,
          typeof message === 'string' ? decodeURIComponent(message) : `status ${code}`,
        );
        return;
      }
      this.cancelOthers(copy);
      this.down.respond(passHeaders(headers, RESPONSE_PSEUDO), { endStream: true });
      this.complete(code);
      return;
    }
    this.winner = copy; // committed: the others are cancelled
    this.cancelOthers(copy);
    this.down.respond(passHeaders(headers, RESPONSE_PSEUDO), { waitForTrailers: true });
    relay(copy.up, this.down);
  }

  private onUpstreamClose(copy: Copy): void {
    if (copy.over || this.over || this.down.destroyed) return;
    if (this.winner === copy) {
      if (copy.trailers === undefined && !this.down.writableEnded) this.down.end(); // status: sendTrailers
      return;
    }
    const why = copy.error || `stream reset (code ${copy.up.rstCode})`;
    this.finishCopy(copy, Status.UNAVAILABLE);
    this.options.eject?.(copy.endpoint, `connection failure: ${why}`);
    this.copyFailed(copy.endpoint, Status.UNAVAILABLE, why);
  }

  /** A copy failed: a fatal status ends the call; otherwise the next copy starts at once, if any may. */
  private copyFailed(endpoint: RoutableEndpoint, code: number, why: string): void {
    this.lastFailure = `engine "${endpoint.engine}" instance "${endpoint.id}" at ${endpoint.address}: ${why}`;
    if (!this.hedging.nonFatal.has(code)) {
      this.fail(code, `${this.lastFailure} (hedged call; ${code} is not a non-fatal status)`);
      return;
    }
    this.hedgeNow();
    if (this.copies.some((c) => !c.over)) return;
    const n = this.copies.length;
    this.fail(code, `${n} hedged ${n === 1 ? 'copy' : 'copies'} failed; last: ${this.lastFailure}`);
  }

  private sendTrailers(): void {
    const w = this.winner!;
    if (w.trailers !== undefined) {
      const code = statusOf(w.trailers);
      this.finishCopy(w, code);
      this.down.sendTrailers(passHeaders(w.trailers, []));
      this.complete(code);
      return;
    }
    this.finishCopy(w, Status.UNAVAILABLE);
    this.down.sendTrailers({
      'grpc-status': String(Status.UNAVAILABLE),
      'grpc-message': encodeGrpcMessage(
        `engine "${w.endpoint.engine}" instance "${w.endpoint.id}" ended the response without a status${w.error ? `: ${w.error}` : ''}`,
      ),
    });
    this.complete(Status.UNAVAILABLE);
  }

  private finishCopy(copy: Copy, code: number): void {
    if (copy.over) return;
    copy.over = true;
    const end = performance.now();
    const latency = end - copy.startedAt;
    const stats = copy.endpoint.stats;
    stats.finished(code, latency, end);
    copy.endpoint.breaker?.record(outcomeOf(code), latency);
    const limit = this.options.consecutiveErrors ?? 0;
    if (limit > 0 && stats.consecutiveFailures >= limit)
      this.options.eject?.(copy.endpoint, `${stats.consecutiveFailures} failures in a row`);
  }

  /** A copy that lost the race: cancelled, counted as nothing (not an error of the instance). */
  private cancelOthers(keep: Copy | undefined): void {
    clearTimeout(this.timer);
    for (const c of this.copies) {
      if (c === keep || c.over) continue;
      c.over = true;
      c.endpoint.stats.abandoned();
      c.endpoint.breaker?.record('ignored', 0);
      if (!c.up.closed) c.up.close(NGHTTP2_CANCEL);
    }
  }

  private onCallerGone(): void {
    if (this.winner && !this.winner.over) {
      this.finishCopy(this.winner, Status.CANCELLED);
      if (!this.winner.up.closed) this.winner.up.close(NGHTTP2_CANCEL);
    }
    this.cancelOthers(undefined);
    this.complete(Status.CANCELLED);
  }

  private fail(code: number, message: string): void {
    this.cancelOthers(undefined);
    this.complete(code);
    respondError(this.down, code, message);
  }

  private complete(code: number): void {
    if (this.over) return;
    this.over = true;
    clearTimeout(this.timer);
    if (this.budgeted) this.options.retry?.budget.release();
    this.options.engineBreaker?.record(outcomeOf(code), performance.now() - this.startedAt);
    this.options.done?.();
  }
}
