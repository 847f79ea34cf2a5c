const BASE_MS = 0.05;
const GROWTH = 1.25;
const BUCKETS = 64; // upper bounds from 0.05 ms to ~0.05·1.25^63 ≈ 62 s
const LOG_GROWTH = Math.log(GROWTH);

/**
 * Latencies in fixed log-spaced buckets (≤ 25 % relative error): recording is one Math.log and an array
 * increment, with no allocation, so it can sit on the per-request path.
 */
export class LatencyHistogram {
  private readonly counts = new Uint32Array(BUCKETS);
  count = 0;
  sumMs = 0;
  maxMs = 0;

  record(ms: number): void {
    const i = ms <= BASE_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(ms / BASE_MS) / LOG_GROWTH));
    this.counts[i]++;
    this.count++;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** The upper bound of the bucket holding quantile q (0..1); 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) return Math.min(BASE_MS * GROWTH ** i, this.maxMs);
    }
    return this.maxMs;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumMs = 0;
    this.maxMs = 0;
  }
}
