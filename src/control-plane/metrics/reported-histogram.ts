import type { Metric, MetricValueWithName, Registry } from 'prom-client';
import { LATENCY_BUCKETS, LATENCY_LAYOUT } from '../../model/latency-buckets';

/** Prometheus buckets (seconds) the routers' 64 log buckets fold into. */
export const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Router bucket i → the first of `bounds` that holds every latency of it (else +Inf). */
const foldOf = (bounds: readonly number[]) =>
  Array.from({ length: LATENCY_BUCKETS }, (_, i) => {
    const upperSeconds = (LATENCY_LAYOUT.baseMs * LATENCY_LAYOUT.growth ** i) / 1000;
    const j = bounds.findIndex((b) => b >= upperSeconds - 1e-12);
    return j < 0 ? bounds.length : j;
  });

interface Series {
  readonly labels: Record<string, string>;
  /** Per Prometheus bucket (last: +Inf only), not cumulative. */
  readonly buckets: Float64Array;
  sumSeconds: number;
  count: number;
}

/**
 * A Prometheus histogram fed whole histograms (a report's bucket counts and sum), or single values
 * through a series' own observer: prom-client's Histogram only observes single values, and hashes the
 * label set on each (a cost per xDS ACK at fleet scale). Registered as a custom metric; its exposition
 * is the standard _bucket/_sum/_count.
 */
export class ReportedHistogram {
  readonly type = 'histogram' as const;
  readonly aggregator = 'sum' as const;
  private readonly series = new Map<string, Series>();
  private readonly fold: readonly number[];

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelNames: readonly string[],
    registry: Registry,
    /** Upper bounds in seconds, ascending (+Inf is implied). */
    private readonly bounds: readonly number[] = SECONDS_BUCKETS,
  ) {
    this.fold = foldOf(bounds);
    // prom-client's Registry formats any metric with a name, help, type and get(); its typings only
    // admit its own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  private keyOf(labels: Record<string, string>): string {
    return this.labelNames.map((n) => labels[n] ?? '').join('\u0000');
  }

  private seriesOf(labels: Record<string, string>, key = this.keyOf(labels)): Series {
    let s = this.series.get(key);
    if (!s)
      this.series.set(
        key,
        (s = { labels, buckets: new Float64Array(this.bounds.length + 1), sumSeconds: 0, count: 0 }),
      );
    return s;
  }

  /** Adds `counts` (router layout) with their sum in ms. */
  add(labels: Record<string, string>, counts: readonly number[], sumMs: number): void {
    const s = this.seriesOf(labels);
    let n = 0;
    for (let i = 0; i < counts.length && i < LATENCY_BUCKETS; i++) {
      if (counts[i] === 0) continue;
      s.buckets[this.fold[i]] += counts[i];
      n += counts[i];
    }
    s.count += n;
    s.sumSeconds += sumMs / 1000;
  }

  /**
   * One series' observer of single values (seconds): its key is made here, once (the series is looked
   * up by it on each value, so a reset or a removal never leaves the observer writing to a lost series).
   */
  observer(labels: Record<string, string>): (seconds: number) => void {
    const key = this.keyOf(labels);
    const bounds = this.bounds;
    return (seconds) => {
      const s = this.series.get(key) ?? this.seriesOf(labels, key);
      let i = 0;
      while (i < bounds.length && seconds > bounds[i]) i++;
      s.buckets[i]++;
      s.count++;
      s.sumSeconds += seconds;
    };
  }

  /** Forgets a series (an instance removed from the configuration). */
  remove(match: (labels: Record<string, string>) => boolean): void {
    for (const [k, s] of this.series) if (match(s.labels)) this.series.delete(k);
  }

  /** Label sets known in advance (every configured instance): they exist at 0 before their first call. */
  known: () => readonly Record<string, string>[] = () => [];

  get(): {
    name: string;
    help: string;
    type: string;
    aggregator: string;
    values: MetricValueWithName<string>[];
  } {
    const values: MetricValueWithName<string>[] = [];
    for (const labels of this.known()) this.add(labels, [], 0);
    for (const s of this.series.values()) {
      let cumulative = 0;
      this.bounds.forEach((le, i) => {
        cumulative += s.buckets[i];
        values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sumSeconds });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: s.count });
    }
    return {
      name: this.name,
      help: this.help,
      type: this.type as never,
      values,
      aggregator: this.aggregator,
    };
  }

  reset(): void {
    this.series.clear();
  }
}
