import { performance } from 'node:perf_hooks';
import type { RoutableEndpoint } from '../balancer/picker';
import { ErrorCode } from '../../protocol/h2/frames';
import type { H2Stream, StreamHandler } from '../../protocol/h2/stream';
import type { Hedging } from '../resilience/retry-policy';
import { messageOf, statusOf } from './call-outcome';
import type { ForwardOptions } from './call-options';
import { abandonAttempt, completeCall, deadlineAt, recordAttempt, sendHeld } from './call-lifecycle';
import { respondError, Status, statusTrailers } from './grpc-status';
import { grpcTimeoutHeader, parseGrpcTimeout } from './grpc-timeout';
import { type HeaderList, headerValue, withoutHeader } from '../http/headers';
import { HeldResponse } from './held-response';
import { type Holder, holdFor, releaseHold } from './hold-timer';
import { ReplayBuffer } from './replay-buffer';
import { afterRead } from '../../protocol/h2/read-turn';
import { noteOrca } from '../stats/instance-stats';
import { CallSpan } from '../tracing/call-span';

/** One copy of a hedged call, on one instance. */
interface Copy {
  readonly endpoint: RoutableEndpoint;
  readonly up: H2Stream;
  readonly startedAt: number;
  over: boolean;
  /** The start of its response, held until it proves whole or streaming (HOLD_MS). */
  held: HeldResponse | undefined;
}

/**
 * Hedging (gRFC A6) for a method listed as idempotent: the call goes to one instance; while none has
 * answered, another copy goes to a different instance every `delayMs`, up to `maxAttempts` copies. A copy
 * that sends response headers stops further copies; its headers and first message are held (as
 * ForwardedCall does) until its trailers, a second message or HOLD_MS, and the first copy to get there,
 * or to end with OK or a fatal status, wins; the others are cancelled. A copy that dies while held, or
 * fails with a non-fatal status, leaves the call to the others, and the next copy starts at once. Extra
 * copies spend the engine's retry budget (one slot per call), so hedging cannot multiply load during an
 * outage.
 */
export function hedge(
  down: H2Stream,
  endpoint: RoutableEndpoint,
  options: ForwardOptions,
  hedging: Hedging,
): void {
  new HedgedCall(down, options, hedging).begin(endpoint);
}

class HedgedCall implements StreamHandler, Holder {
  private readonly out: HeaderList;
  private readonly deadlineAt: number;
  private readonly request = new ReplayBuffer();
  private requestEnded = false;
  private attached = false;
  private readonly copies: Copy[] = [];
  private readonly tried = new Set<string>();
  private winner: Copy | undefined;
  private timer: NodeJS.Timeout | undefined;
  holdTicket = 0;
  private budgeted = false;
  private over = false;
  private lastFailure = '';
  private readonly startedAt = performance.now();

  constructor(
    private readonly down: H2Stream,
    private readonly options: ForwardOptions,
    private readonly hedging: Hedging,
  ) {
    this.out = withoutHeader(down.headers, 'grpc-timeout');
    this.deadlineAt = deadlineAt(
      parseGrpcTimeout(headerValue(down.headers, 'grpc-timeout')),
      options,
      this.startedAt,
    );
  }

  begin(endpoint: RoutableEndpoint): void {
    if (this.deadlineAt <= performance.now()) {
      endpoint.breaker?.record('ignored', 0);
      this.fail(Status.DEADLINE_EXCEEDED, `deadline exceeded while queued for engine "${endpoint.engine}"`);
      return;
    }
    this.launch(endpoint);
    this.attach();
    this.schedule();
  }

  /** Takes the caller's stream over: what it sent while queued goes to the first copy now. */
  private attach(): void {
    if (this.attached) return;
    this.attached = true;
    this.down.attach(this);
  }

  private schedule(): void {
    if (this.over || this.winner || this.answering() || this.copies.length >= this.hedging.maxAttempts)
      return;
    this.timer = setTimeout(() => this.hedgeNow(), this.hedging.delayMs);
  }

  /** Starts the next copy, if the attempt limit, the request size, the deadline and the budget allow. */
  private hedgeNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const ctx = this.options.retry;
    if (this.over || this.winner || this.answering() || this.down.closed || !ctx) return;
    if (this.copies.length >= this.hedging.maxAttempts || !this.request.replayable) return;
    if (performance.now() >= this.deadlineAt) return;
    if (!ctx.budget.tryRetry(ctx.inFlight(), this.budgeted)) return;
    this.budgeted = true;
    const next = ctx.repick(this.tried);
    if (!next) return;
    this.launch(next);
    this.schedule();
  }

  private launch(endpoint: RoutableEndpoint): void {
    this.tried.add(endpoint.id);
    const now = performance.now();
    endpoint.stats.started(now);
    const span = this.down.observer;
    if (span instanceof CallSpan) span.attempted(endpoint.id);
    const timeout = Number.isFinite(this.deadlineAt) ? grpcTimeoutHeader(this.deadlineAt - now) : undefined;
    let up: H2Stream;
    try {
      up = this.options.pool
        .connection(endpoint.address)
        .request(this.out, timeout, this, this.down.added, this.down.addedSeed);
    } catch (err) {
      const why = `unreachable: ${(err as Error).message}`;
      recordAttempt(endpoint, this.options, Status.UNAVAILABLE, now);
      this.options.eject?.(endpoint, why);
      this.copyFailed(endpoint, Status.UNAVAILABLE, why);
      return;
    }
    this.copies.push({ endpoint, up, startedAt: now, over: false, held: undefined });
    for (const chunk of this.request.chunks) up.write(chunk);
    if (this.requestEnded) up.end();
  }

  private copyOf(stream: H2Stream): Copy | undefined {
    for (const c of this.copies) if (c.up === stream) return c;
    return undefined;
  }

  // ---- StreamHandler: the caller's stream (down) and every copy's (up) ----

  onData(stream: H2Stream, chunk: Buffer): void {
    if (stream === this.down) return this.onRequestData(chunk);
    if (this.winner?.up === stream) {
      if (!this.down.write(chunk)) stream.pause(); // resumed in onDrain
      return;
    }
    const copy = this.copyOf(stream);
    if (copy?.held !== undefined && !copy.over && !copy.held.add(chunk)) this.commit(copy); // streaming
  }

  onEnd(stream: H2Stream): void {
    if (stream === this.down) {
      this.requestEnded = true;
      for (const c of this.copies) if (!c.over) c.up.end();
      return;
    }
    const copy = this.copyOf(stream);
    if (copy) this.onUpstreamGone(copy, 'the instance ended the response without a status');
  }

  onHeaders(stream: H2Stream, headers: readonly string[], endStream: boolean): void {
    if (stream === this.down) return this.onEnd(stream); // request trailers end the request
    const copy = this.copyOf(stream);
    if (copy === undefined) return;
    if (this.winner === copy) {
      this.onTrailers(copy, headers, endStream);
    } else if (copy.held !== undefined) {
      if (!endStream || copy.over) return;
      this.commit(copy); // its trailers: it answered whole, first
      this.onTrailers(copy, headers, true);
    } else {
      this.onResponse(copy, headers, endStream);
    }
  }

  onReset(stream: H2Stream, code: number, why: string): void {
    if (stream === this.down) return this.onCallerGone();
    const copy = this.copyOf(stream);
    if (copy) this.onUpstreamGone(copy, why || `stream reset (code ${code})`);
  }

  onDrain(stream: H2Stream): void {
    if (stream === this.down) this.winner?.up.resume();
    else this.down.resume();
  }

  // ----

  private onRequestData(chunk: Buffer): void {
    this.request.add(chunk);
    for (const c of this.copies) if (!c.over && !c.up.write(chunk) && !c.up.closed) this.down.pause();
  }

  private onResponse(copy: Copy, headers: readonly string[], endStream: boolean): void {
    if (copy.over || this.winner || this.over || this.down.closed) return;
    if (endStream) {
      const code = statusOf(headers);
      this.finishCopy(copy, code);
      if (code !== Status.OK && this.hedging.nonFatal.has(code)) {
        this.copyFailed(copy.endpoint, code, messageOf(headers, `status ${code}`));
        return;
      }
      this.cancelOthers(copy);
      this.down.respond(headers, true);
      this.complete(code);
      return;
    }
    // Held until its trailers, a second message or HOLD_MS; no more copies start meanwhile.
    copy.held = new HeldResponse(headers);
    clearTimeout(this.timer);
    this.timer = undefined;
    afterRead(armHold, this); // its trailers may be in the same read
  }

  /** Whether a copy has sent response headers (held): an answer is on its way. */
  private answering(): boolean {
    for (const c of this.copies) if (c.held !== undefined && !c.over) return true;
    return false;
  }

  armHold(): void {
    if (this.holdTicket === 0 && !this.winner && !this.over && this.answering()) holdFor(this);
  }

  /** HOLD_MS after the first headers: the earliest copy still held is sent on. */
  holdExpired(): void {
    for (const c of this.copies)
      if (c.held !== undefined && !c.over) {
        this.commit(c);
        return;
      }
  }

  /** `copy` wins: the others are cancelled, and its held start goes to the caller. */
  private commit(copy: Copy): void {
    const held = copy.held;
    if (held === undefined || this.winner || this.over || this.down.closed) return;
    copy.held = undefined;
    this.winner = copy;
    releaseHold(this);
    this.cancelOthers(copy);
    if (sendHeld(this.down, held)) copy.up.pause(); // resumed in onDrain
  }

  private onTrailers(copy: Copy, trailers: readonly string[], endStream: boolean): void {
    if (!endStream || copy.over) return;
    const code = statusOf(trailers);
    if (trailers.length > 4) noteOrca(copy.endpoint.stats, trailers);
    this.finishCopy(copy, code);
    this.down.end(trailers);
    this.complete(code);
  }

  private onUpstreamGone(copy: Copy, why: string): void {
    if (copy.over || this.over || this.down.closed) return;
    if (this.winner === copy) {
      this.finishCopy(copy, Status.UNAVAILABLE);
      this.down.end(
        statusTrailers(
          Status.UNAVAILABLE,
          `engine "${copy.endpoint.engine}" instance "${copy.endpoint.id}" ended the response without a status: ${why}`,
        ),
      );
      this.complete(Status.UNAVAILABLE);
      return;
    }
    copy.held = undefined; // nothing of it reached the caller: the call is the other copies'
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

  private finishCopy(copy: Copy, code: number): void {
    if (copy.over) return;
    copy.over = true;
    recordAttempt(copy.endpoint, this.options, code, copy.startedAt);
  }

  /** A copy that lost the race: cancelled, counted as nothing (not an error of the instance). */
  private cancelOthers(keep: Copy | undefined): void {
    clearTimeout(this.timer);
    for (const c of this.copies) {
      if (c === keep || c.over) continue;
      c.over = true;
      abandonAttempt(c.endpoint);
      c.up.reset(ErrorCode.CANCEL);
    }
  }

  private onCallerGone(): void {
    const w = this.winner;
    if (w && !w.over) {
      this.finishCopy(w, Status.CANCELLED);
      w.up.reset(ErrorCode.CANCEL);
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
    releaseHold(this);
    completeCall(this.options, code, this.startedAt, this.budgeted);
  }
}

function armHold(call: HedgedCall): void {
  call.armHold();
}
