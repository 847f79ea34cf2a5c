import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CheckState } from '../../model/health';
import type { EngineCatalog } from '../config/engine-catalog';
import type { ReportReceived } from '../kernel/events';
import type { CallWindows, InstanceResources } from '../calls/call-windows';
import { ReportedHistogram } from './reported-histogram';

/**
 * The fleet's calls and probes as Prometheus metrics. Counters count the reports this replica's own
 * routers and LRS clients sent (each report is counted by exactly one replica), so `sum` over replicas
 * is the fleet, as Prometheus expects; gauges of instance state (health, CPU, memory) are fleet-wide on
 * every replica (aggregate them with `max`).
 */
export class FleetMetrics {
  private readonly calls: Counter<'engine' | 'instance' | 'version' | 'code'>;
  private readonly latency: ReportedHistogram;
  private readonly probes: Counter<'engine' | 'instance' | 'result'>;
  private readonly probeLatency: Histogram<'engine'>;
  /** Calls in flight per instance, per local reporting node: the newest figure and when. */
  private readonly inFlight = new Map<string, Map<string, { n: number; atMs: number }>>();

  constructor(
    registry: Registry,
    private readonly replicaId: string,
    private readonly engines: EngineCatalog,
    windows: CallWindows,
    health: (engine: string, instanceId: string) => CheckState,
    freshMs = 10_000,
  ) {
    const registers = [registry];
    // Series of every configured instance exist from the start, at 0 (code OK for calls), so a panel or
    // a rule over them has data on a fleet that has served nothing yet.
    const known = () =>
      engines
        .listNow()
        .flatMap((spec) =>
          spec.instances.map((i) => ({ engine: spec.name, instance: i.id, version: i.version })),
        );
    this.calls = new Counter({
      name: 'nerve_calls_total',
      help: 'Calls routers and proxyless clients reported, by engine, instance, version and gRPC status code',
      labelNames: ['engine', 'instance', 'version', 'code'],
      registers,
      collect() {
        for (const labels of known()) this.inc({ ...labels, code: 'OK' }, 0);
      },
    });
    this.latency = new ReportedHistogram(
      'nerve_call_duration_seconds',
      'Latency of reported calls, from the router receiving the call to its end',
      ['engine', 'instance', 'version'],
      registry,
    );
    this.latency.known = known;
    this.probes = new Counter({
      name: 'nerve_health_probes_total',
      help: 'Active health probes (grpc.health.v1) the leader ran, by result',
      labelNames: ['engine', 'instance', 'result'],
      registers,
    });
    this.probeLatency = new Histogram({
      name: 'nerve_health_probe_duration_seconds',
      help: 'Latency of active health probes',
      labelNames: ['engine'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    const inFlight = this.inFlight;
    new Gauge({
      name: 'nerve_calls_in_flight',
      help: "Calls in flight at the end of the last report of this replica's routers",
      labelNames: ['engine', 'instance'],
      registers,
      collect() {
        this.reset();
        const oldest = Date.now() - freshMs;
        for (const [key, nodes] of inFlight) {
          let n = 0;
          for (const [node, v] of nodes) {
            if (v.atMs < oldest) nodes.delete(node);
            else n += v.n;
          }
          const [engine, instance] = split(key);
          if (nodes.size === 0) inFlight.delete(key);
          else this.set({ engine, instance }, n);
        }
        // Instances no router reports in flight for have none: 0, not an absent series.
        eachInstance((engine, instance) => {
          if (!inFlight.has(`${engine}/${instance}`)) this.set({ engine, instance }, 0);
        });
      },
    });
    const eachInstance = (fn: (engine: string, instance: string) => void) => {
      for (const spec of engines.listNow()) for (const i of spec.instances) fn(spec.name, i.id);
    };
    // One gauge per figure of the instances' own load reports (ORCA); 0 where none came yet.
    const resourceGauge = (name: string, help: string, pick: (r: InstanceResources) => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['engine', 'instance'],
        registers,
        collect() {
          this.reset();
          eachInstance((engine, instance) => {
            const r = windows.resources(engine, instance);
            this.set({ engine, instance }, r ? pick(r) : 0);
          });
        },
      });
    resourceGauge(
      'nerve_instance_cpu_utilization',
      'CPU utilization the instance last reported (ORCA, 0..1 of one core; 0 before its first report)',
      (r) => r.cpuUtilization,
    );
    resourceGauge(
      'nerve_instance_memory_utilization',
      'Memory utilization the instance last reported (ORCA, 0..1; 0 before its first report)',
      (r) => r.memUtilization,
    );
    new Gauge({
      name: 'nerve_instance_healthy',
      help: '1 while the instance passes its health probes, 0 while it fails them or is not probed yet',
      labelNames: ['engine', 'instance'],
      registers,
      collect() {
        this.reset();
        eachInstance((engine, instance) =>
          this.set({ engine, instance }, health(engine, instance).status === 'healthy' ? 1 : 0),
        );
      },
    });
  }

  /** Counts a report received by this replica; reports shared by other replicas are theirs to count. */
  onReport(report: ReportReceived): void {
    if (report.replica !== this.replicaId) return;
    const node = `${report.source}:${report.nodeId}`;
    for (const load of report.loads) {
      const key = `${load.engine}/${load.instanceId}`;
      let nodes = this.inFlight.get(key);
      if (!nodes) this.inFlight.set(key, (nodes = new Map()));
      nodes.set(node, { n: load.inFlight, atMs: report.atMs });
      if (load.requests === 0) continue;
      const spec = this.engines.getNow(load.engine);
      const version = spec?.instances.find((i) => i.id === load.instanceId)?.version ?? '';
      const labels = { engine: load.engine, instance: load.instanceId, version };
      const ok = load.requests - load.errors;
      if (ok > 0) this.calls.inc({ ...labels, code: 'OK' }, ok);
      let coded = 0;
      for (const [code, n] of Object.entries(load.errorsByCode)) {
        this.calls.inc({ ...labels, code }, n);
        coded += n;
      }
      // LRS reports count errors without codes.
      if (load.errors > coded) this.calls.inc({ ...labels, code: 'UNKNOWN' }, load.errors - coded);
      if (load.latency && load.latency.counts.length > 0)
        this.latency.add(labels, load.latency.counts, load.latency.sumMs);
    }
  }

  onProbe(engine: string, instance: string, state: CheckState): void {
    this.probes.inc({ engine, instance, result: state.consecutiveFailures > 0 ? 'failed' : 'ok' });
    this.probeLatency.observe({ engine }, state.lastLatencyMs / 1000);
  }
}

function split(key: string): [string, string] {
  const at = key.indexOf('/');
  return [key.slice(0, at), key.slice(at + 1)];
}
