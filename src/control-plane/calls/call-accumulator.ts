import type { InstanceLoad } from '../../../gen/nerve/report/v1/report';
import { bucketOf, interpolatedQuantile, LATENCY_BUCKETS, LATENCY_LAYOUT } from '../../model/latency-buckets';

/** Golden signals over a period (STATS). */
export interface CallStats {
  readonly requests: number;
  readonly errors: number;
  readonly rps: number;
  /** errors / requests, 0..1 (0 without calls). */
  readonly errorRate: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly inFlight: number;
}

export const NO_CALLS: CallStats = {
  requests: 0,
  errors: 0,
  rps: 0,
  errorRate: 0,
  p50Ms: 0,
  p95Ms: 0,
  p99Ms: 0,
  inFlight: 0,
};

/**
 * Calls added up from reports: counts, errors by code, and latencies in the routers' histogram layout,
 * so percentiles are over every router's calls together. Reports without a histogram in that layout
 * (LRS) count calls but add no latencies.
 */
export class CallAccumulator {
  requests = 0;
  errors = 0;
  maxMs = 0;
  /** Every call's latency added up (ms): calls in flight on average = sumMs / the period (Little's law). */
  sumMs = 0;
  readonly counts = new Float64Array(LATENCY_BUCKETS);
  readonly byCode = new Map<string, number>();

  add(load: InstanceLoad): void {
    this.requests += load.requests;
    this.errors += load.errors;
    for (const [code, n] of Object.entries(load.errorsByCode))
      this.byCode.set(code, (this.byCode.get(code) ?? 0) + n);
    const l = load.latency;
    if (l) this.sumMs += l.sumMs;
    if (!l || l.baseMs !== LATENCY_LAYOUT.baseMs || l.growth !== LATENCY_LAYOUT.growth) return;
    const n = Math.min(l.counts.length, LATENCY_BUCKETS);
    for (let i = 0; i < n; i++) this.counts[i] += l.counts[i];
    if (l.maxMs > this.maxMs) this.maxMs = l.maxMs;
  }

  /** One call seen here rather than reported (a rollout's synthetic calls); `code` a status name. */
  record(code: string, latencyMs: number): void {
    this.requests++;
    this.sumMs += latencyMs;
    if (code !== 'OK') {
      this.errors++;
      this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
    }
    this.counts[bucketOf(LATENCY_LAYOUT, latencyMs, LATENCY_BUCKETS)]++;
    if (latencyMs > this.maxMs) this.maxMs = latencyMs;
  }

  merge(other: CallAccumulator): void {
    this.requests += other.requests;
    this.errors += other.errors;
    this.sumMs += other.sumMs;
    for (let i = 0; i < LATENCY_BUCKETS; i++) this.counts[i] += other.counts[i];
    if (other.maxMs > this.maxMs) this.maxMs = other.maxMs;
    for (const [code, n] of other.byCode) this.byCode.set(code, (this.byCode.get(code) ?? 0) + n);
  }

  reset(): void {
    this.requests = this.errors = this.maxMs = this.sumMs = 0;
    this.counts.fill(0);
    this.byCode.clear();
  }

  quantile(q: number): number {
    return round(interpolatedQuantile(LATENCY_LAYOUT, this.counts, q, this.maxMs || Infinity));
  }

  /** The stats of these calls over `seconds`, with `inFlight` measured apart (a gauge, not a count). */
  stats(seconds: number, inFlight: number): CallStats {
    if (this.requests === 0) return { ...NO_CALLS, inFlight };
    return {
      requests: this.requests,
      errors: this.errors,
      rps: round(this.requests / Math.max(seconds, 0.001)),
      errorRate: round(this.errors / this.requests, 6),
      p50Ms: this.quantile(0.5),
      p95Ms: this.quantile(0.95),
      p99Ms: this.quantile(0.99),
      inFlight,
    };
  }
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
