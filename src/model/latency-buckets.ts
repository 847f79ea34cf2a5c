/** A log-spaced latency histogram layout: bucket i holds latencies up to baseMs × growth^i. */
export interface BucketLayout {
  readonly baseMs: number;
  readonly growth: number;
}

/** The router's layout: 64 buckets from 0.05 ms to about 62 s, each at most 25 % wide. */
export const LATENCY_LAYOUT: BucketLayout = { baseMs: 0.05, growth: 1.25 };
export const LATENCY_BUCKETS = 64;

/** The bucket for a latency: one Math.log, no allocation. */
export function bucketOf(layout: BucketLayout, ms: number, buckets: number): number {
  if (ms <= layout.baseMs) return 0;
  return Math.min(buckets - 1, Math.ceil(Math.log(ms / layout.baseMs) / Math.log(layout.growth)));
}

/** The upper bound of the bucket holding quantile q (0..1) of `counts`, capped at maxMs; 0 when empty. */
export function quantileOf(
  layout: BucketLayout,
  counts: ArrayLike<number>,
  q: number,
  maxMs = Infinity,
): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  if (total === 0) return 0;
  const rank = Math.ceil(q * total);
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i];
    if (seen >= rank) return Math.min(layout.baseMs * layout.growth ** i, maxMs);
  }
  return maxMs;
}

/**
 * Quantile q (0..1) of `counts`, interpolated inside its bucket on the log scale (buckets are 25 % wide,
 * so the bucket's bound alone may be 25 % off; for a smooth distribution interpolation is within a few
 * percent). Capped at maxMs; 0 when empty. For summaries read by people, not for routing decisions.
 */
export function interpolatedQuantile(
  layout: BucketLayout,
  counts: ArrayLike<number>,
  q: number,
  maxMs = Infinity,
): number {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i];
  if (total === 0) return 0;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i];
    if (n > 0 && seen + n >= rank) {
      // The slowest call seen bounds the top bucket: interpolate up to it, not to the bucket's bound.
      const upper = Math.min(layout.baseMs * layout.growth ** i, maxMs);
      const lower = i === 0 ? 0 : Math.min(upper, (layout.baseMs * layout.growth ** i) / layout.growth);
      const within = Math.min(1, Math.max(0, (rank - seen) / n));
      if (lower <= 0 || upper <= lower) return lower + (upper - lower) * within;
      return lower * (upper / lower) ** within;
    }
    seen += n;
  }
  return maxMs;
}
