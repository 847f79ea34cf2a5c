import type { ConcurrencyLimit } from './adaptive-concurrency';
import { type Clock, REAL_CLOCK } from './clock';
import { TokenBucket } from './token-bucket';

export type { Clock };

export interface AdmissionLimits {
  /** Calls in flight at once through this router; 0: unlimited. */
  readonly maxConcurrent: number;
  /** Places in the queue; 0: calls over a limit are refused at once. */
  readonly maxPending: number;
  readonly queueTimeoutMs: number;
  /** Requests per second; 0: no rate limit. */
  readonly rate: number;
  readonly burst: number;
  /** A limit on calls in flight that moves with measured latency (adaptive concurrency), under maxConcurrent. */
  readonly adaptive?: ConcurrencyLimit;
}

interface Waiter {
  readonly priority: number;
  readonly since: number;
  readonly run: (waitedMs: number) => void;
  readonly reject: (message: string) => void;
  timer: unknown;
}

/**
 * Admission to one engine through this router: a concurrency limit (bulkhead), a token-bucket rate limit,
 * and a bounded queue served highest x-nerve-priority first (first come, first served within a priority),
 * where a call waits at most the queue timeout. Calls over a limit with no place in the queue, or that
 * time out waiting, are refused with a message that says which limit and by how much.
 */
export class Admission {
  inFlight = 0;
  private limits!: AdmissionLimits;
  private bucket: TokenBucket | undefined;
  private readonly queue: Waiter[] = [];
  private wakeup: unknown;

  constructor(
    private readonly engine: string,
    limits: AdmissionLimits,
    private readonly clock: Clock = REAL_CLOCK,
  ) {
    this.configure(limits);
  }

  get waiting(): number {
    return this.queue.length;
  }

  configure(limits: AdmissionLimits): void {
    const rateChanged =
      !this.limits || limits.rate !== this.limits.rate || limits.burst !== this.limits.burst;
    this.limits = limits;
    if (rateChanged)
      this.bucket =
        limits.rate > 0
          ? new TokenBucket(limits.rate, limits.burst || Math.max(1, limits.rate), this.clock.now)
          : undefined;
    this.drain();
  }

  /**
   * Runs `run` now, or once admitted from the queue (with the time it waited), or calls `reject`.
   * Returns a function that withdraws a queued call (its caller went away); harmless otherwise.
   */
  admit(priority: number, run: (waitedMs: number) => void, reject: (message: string) => void): () => void {
    if (this.queue.length === 0 && this.take()) {
      run(0);
      return noop;
    }
    if (this.queue.length >= this.limits.maxPending) {
      const why = `engine "${this.engine}" ${this.over()}`;
      reject(
        this.limits.maxPending === 0 ? why : `${why}, and its queue is full (${this.queue.length} waiting)`,
      );
      return noop;
    }
    const waiter: Waiter = { priority, since: this.clock.now(), run, reject, timer: undefined };
    waiter.timer = this.clock.setTimeout(() => {
      if (this.remove(waiter))
        reject(
          `engine "${this.engine}": no capacity within the ${this.limits.queueTimeoutMs} ms queue timeout (it ${this.over()})`,
        );
    }, this.limits.queueTimeoutMs);
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1].priority < priority) i--;
    this.queue.splice(i, 0, waiter);
    this.scheduleWakeup();
    return () => {
      if (this.remove(waiter)) this.clock.clearTimeout(waiter.timer);
    };
  }

  /** Admits a call at once when nothing waits and no limit is hit; otherwise use `admit`. */
  tryEnter(): boolean {
    return this.queue.length === 0 && this.take();
  }

  /** A call admitted earlier finished. Bound once, so callers can pass it around without a closure. */
  readonly release = (): void => {
    this.inFlight--;
    this.drain();
  };

  /** Refuses everything waiting (the engine left the configuration). */
  close(message: string): void {
    for (const w of this.queue.splice(0)) {
      this.clock.clearTimeout(w.timer);
      w.reject(message);
    }
  }

  private take(): boolean {
    if (this.atConcurrencyLimit()) return false;
    if (this.bucket && !this.bucket.tryTake()) return false;
    this.inFlight++;
    return true;
  }

  private drain(): void {
    while (this.queue.length > 0 && this.take()) {
      const w = this.queue.shift()!;
      this.clock.clearTimeout(w.timer);
      w.run(this.clock.now() - w.since);
    }
    this.scheduleWakeup();
  }

  /**
   * Tokens refill with time, not with events: wake up when the next one is due. Not when the concurrency
   * limit is what holds the queue (a release drains it). At least 1 ms: a token that came due between
   * the take that failed and now still needs a drain (without one the queue would wait for its timeout).
   */
  private scheduleWakeup(): void {
    if (this.wakeup !== undefined || this.queue.length === 0 || !this.bucket) return;
    if (this.atConcurrencyLimit()) return;
    const ms = Math.max(1, this.bucket.msUntilToken());
    this.wakeup = this.clock.setTimeout(() => {
      this.wakeup = undefined;
      this.drain();
    }, ms);
  }

  private remove(w: Waiter): boolean {
    const i = this.queue.indexOf(w);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    return true;
  }

  private atConcurrencyLimit(): boolean {
    const l = this.limits;
    if (l.maxConcurrent > 0 && this.inFlight >= l.maxConcurrent) return true;
    return l.adaptive !== undefined && this.inFlight >= l.adaptive.limit;
  }

  /** Which limit is hit, as a phrase after the engine's name. */
  private over(): string {
    const l = this.limits;
    if (l.maxConcurrent > 0 && this.inFlight >= l.maxConcurrent)
      return `has ${this.inFlight} calls in flight (max_requests ${l.maxConcurrent})`;
    if (l.adaptive !== undefined && this.inFlight >= l.adaptive.limit)
      return `has ${this.inFlight} calls in flight (${l.adaptive.describe()})`;
    return `is over its rate limit (${l.rate}/s, burst ${l.burst || Math.max(1, l.rate)})`;
  }
}

function noop(): void {}
