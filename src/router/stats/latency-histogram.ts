import { bucketOf, LATENCY_BUCKETS, LATENCY_LAYOUT, quantileOf } from '../../model/latency-buckets';

/**
 * Latencies in fixed log-spaced buckets (≤ 25 % relative error): recording is one Math.log and an array
 * increment, with no allocation, so it can sit on the per-request path. The layout is the one reports
 * carry, so the control plane can add up histograms from every router.
 */
export class LatencyHistogram {
  readonly counts = new Uint32Array(LATENCY_BUCKETS);
  count = 0;
  sumMs = 0;
  maxMs = 0;

  record(ms: number): void {
    this.recordIn(bucketOf(LATENCY_LAYOUT, ms, LATENCY_BUCKETS), ms);
  }

  /** Records in a bucket already found (two histograms fed by one call share the Math.log). */
  recordIn(bucket: number, ms: number): void {
    this.counts[bucket]++;
    this.count++;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
  }

  /** The upper bound of the bucket holding quantile q (0..1); 0 when empty. */
  quantile(q: number): number {
    return this.count === 0 ? 0 : quantileOf(LATENCY_LAYOUT, this.counts, q, this.maxMs);
  }

  /** The counts up to the last non-empty bucket, for a report. */
  trimmedCounts(): number[] {
    let end = this.counts.length;
    while (end > 0 && this.counts[end - 1] === 0) end--;
    return Array.from(this.counts.subarray(0, end));
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sumMs = 0;
    this.maxMs = 0;
  }
}
