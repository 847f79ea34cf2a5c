import type { InstanceLoad } from '../../gen/nerve/report/v1/report';
import type { ReportReceived } from '../../src/control-plane/kernel/events';
import { LATENCY_LAYOUT } from '../../src/model/latency-buckets';
import { LatencyHistogram } from '../../src/router/stats/latency-histogram';

/**
 * An instance's load as a router reports it: `latencies` become the request count and the histogram
 * (the routers' layout); everything else defaults to a quiet, closed, ORCA-less instance.
 */
export function instanceLoad(
  engine: string,
  instanceId: string,
  latencies: readonly number[] = [],
  extra: Partial<InstanceLoad> = {},
): InstanceLoad {
  const h = new LatencyHistogram();
  for (const ms of latencies) h.record(ms);
  return {
    engine,
    instanceId,
    requests: latencies.length,
    errors: 0,
    inFlight: 0,
    latency: {
      sumMs: h.sumMs,
      maxMs: h.maxMs,
      p50Ms: h.quantile(0.5),
      p99Ms: h.quantile(0.99),
      baseMs: LATENCY_LAYOUT.baseMs,
      growth: LATENCY_LAYOUT.growth,
      counts: h.trimmedCounts(),
    },
    circuit: 1,
    circuitSinceMs: 0,
    errorsByCode: {},
    loadMetrics: {},
    cpuUtilization: 0,
    memUtilization: 0,
    utilization: {},
    orcaAtMs: 0,
    ejected: false,
    ...extra,
  };
}

/** A router's report as a replica stamps it (`seq` and `atMs` from the time). */
export function routerReport(
  atMs: number,
  loads: InstanceLoad[],
  nodeId = 'r1',
  intervalMs = 2_000,
): ReportReceived {
  return {
    nodeId,
    source: 'router',
    replica: 'a',
    engineCalls: [],
    loads,
    engineCircuits: {},
    dropped: {},
    intervalMs,
    seq: atMs,
    atMs,
  };
}
