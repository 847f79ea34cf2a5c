/** Outcomes over a breaker's window. */
export interface Outcomes {
  calls: number;
  failures: number;
  slow: number;
}

/** The calls a circuit breaker judges by: the last N calls, or the calls of the last T milliseconds. */
export interface SlidingWindow {
  /** Whether it judges by time (`nowMs` matters); a count window does not need the clock read. */
  readonly timed: boolean;
  record(failure: boolean, slow: boolean, nowMs: number): void;
  /** Totals as of `nowMs`; the returned object is reused by the next call. */
  totals(nowMs: number): Readonly<Outcomes>;
  reset(): void;
}

const FAILURE = 1;
const SLOW = 2;

/** The last `size` calls, in a ring of flags with running totals: O(1) per call, no allocation. */
export class CountWindow implements SlidingWindow {
  readonly timed = false;
  private readonly ring: Uint8Array;
  private next = 0;
  private filled = 0;
  private readonly sums: Outcomes = { calls: 0, failures: 0, slow: 0 };

  constructor(readonly size: number) {
    this.ring = new Uint8Array(Math.max(1, size));
  }

  record(failure: boolean, slow: boolean): void {
    const s = this.sums;
    if (this.filled === this.ring.length) {
      const old = this.ring[this.next];
      s.failures -= old & FAILURE;
      s.slow -= (old & SLOW) >> 1;
    } else {
      this.filled++;
    }
    const flags = (failure ? FAILURE : 0) | (slow ? SLOW : 0);
    this.ring[this.next] = flags;
    this.next = (this.next + 1) % this.ring.length;
    s.calls = this.filled;
    s.failures += flags & FAILURE;
    s.slow += (flags & SLOW) >> 1;
  }

  totals(): Readonly<Outcomes> {
    return this.sums;
  }

  reset(): void {
    this.next = 0;
    this.filled = 0;
    this.sums.calls = this.sums.failures = this.sums.slow = 0;
  }
}

const BUCKETS = 10;

/**
 * The calls of the last `spanMs` milliseconds, in ten buckets of spanMs / 10 (so the window slides in
 * tenths: a call counts for between 0.9 and 1 × spanMs). Buckets are reused in place.
 */
export class TimeWindow implements SlidingWindow {
  readonly timed = true;
  private readonly bucketMs: number;
  private readonly epochs = new Float64Array(BUCKETS).fill(-1);
  private readonly calls = new Uint32Array(BUCKETS);
  private readonly failures = new Uint32Array(BUCKETS);
  private readonly slow = new Uint32Array(BUCKETS);
  private readonly sums: Outcomes = { calls: 0, failures: 0, slow: 0 };

  constructor(readonly spanMs: number) {
    this.bucketMs = Math.max(1, spanMs / BUCKETS);
  }

  record(failure: boolean, slow: boolean, nowMs: number): void {
    const epoch = Math.floor(nowMs / this.bucketMs);
    const i = epoch % BUCKETS;
    if (this.epochs[i] !== epoch) {
      this.epochs[i] = epoch;
      this.calls[i] = this.failures[i] = this.slow[i] = 0;
    }
    this.calls[i]++;
    if (failure) this.failures[i]++;
    if (slow) this.slow[i]++;
  }

  totals(nowMs: number): Readonly<Outcomes> {
    const oldest = Math.floor(nowMs / this.bucketMs) - BUCKETS;
    const s = this.sums;
    s.calls = s.failures = s.slow = 0;
    for (let i = 0; i < BUCKETS; i++) {
      if (this.epochs[i] <= oldest) continue;
      s.calls += this.calls[i];
      s.failures += this.failures[i];
      s.slow += this.slow[i];
    }
    return s;
  }

  reset(): void {
    this.epochs.fill(-1);
  }
}
