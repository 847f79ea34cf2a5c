import type { Metric, Registry } from 'prom-client';
import { LATENCY_LAYOUT } from '../../model/latency-buckets';
import type { RoutingState } from '../proxy/routing-state';

/** Prometheus buckets (seconds) the router's fine log buckets are folded into. */
const LE_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** For each fine bucket, the first Prometheus bucket its upper bound fits in (LE_SECONDS.length: +Inf). */
function foldMap(fine: number): number[] {
  return Array.from({ length: fine }, (_, i) => {
    const upperS = (LATENCY_LAYOUT.baseMs * LATENCY_LAYOUT.growth ** i) / 1000;
    const j = LE_SECONDS.findIndex((le) => upperS <= le * 1.0001);
    return j < 0 ? LE_SECONDS.length : j;
  });
}

interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * nerve_router_request_duration_seconds: a Prometheus histogram per engine instance, read at scrape time
 * from the instances' lifetime latency histograms (the request path pays one array increment). A fine
 * bucket counts under the first Prometheus bucket its upper bound fits in, so `le` is exact to within
 * the fine buckets' 25 %.
 */
export function registerLatencyHistogram(registry: Registry, state: RoutingState): void {
  const name = 'nerve_router_request_duration_seconds';
  const help = 'Time from a call reaching an instance to its end, per attempt, by engine instance.';
  let fold: number[] | undefined;
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get() {
      const values: Sample[] = [];
      for (const s of state.allStats()) {
        const h = s.totalLatency;
        fold ??= foldMap(h.counts.length);
        const perLe = new Array<number>(LE_SECONDS.length + 1).fill(0);
        for (let i = 0; i < h.counts.length; i++) perLe[fold[i]] += h.counts[i];
        let cumulative = 0;
        const labels = { engine: s.engine, instance: s.instanceId };
        for (let j = 0; j <= LE_SECONDS.length; j++) {
          cumulative += perLe[j];
          const le = j < LE_SECONDS.length ? LE_SECONDS[j] : '+Inf';
          values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
        }
        values.push({ metricName: `${name}_sum`, labels, value: h.sumMs / 1000 });
        values.push({ metricName: `${name}_count`, labels, value: h.count });
      }
      return { name, help, type: 'histogram', aggregator: 'sum', values };
    },
  };
  // A collector of our own: prom-client's Histogram can only observe, not be read from existing counts.
  registry.registerMetric(metric as unknown as Metric);
}
