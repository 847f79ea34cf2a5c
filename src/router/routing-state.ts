import type { EngineCircuits, EngineCluster, RouteTable } from '../../gen/nerve/discovery/v1/resources';
import { selectEndpoints } from './balancer/endpoints';
import type { Picker } from './balancer/picker';
import { getStrategy } from './balancer/registry';
import { Admission, type AdmissionLimits } from './resilience/admission';
import { InstanceStats } from './stats/instance-stats';

export interface EngineEntry {
  readonly cluster: EngineCluster;
  readonly picker: Picker;
  /** Deadline applied when the caller sets none (0: none). */
  readonly defaultTimeoutMs: number;
  /** Identifies the cluster's content, to keep the picker when an update leaves it unchanged. */
  readonly fingerprint: string;
}

/**
 * Everything the router knows from the control plane, in the shape the request path needs: engines by
 * name with ready pickers, and lookups from :authority and service to engine. Replaced per xDS update;
 * read per request.
 */
export class RoutingState {
  private engines = new Map<string, EngineEntry>();
  private byAuthority = new Map<string, string>();
  private byService = new Map<string, string>();
  private circuits = new Map<string, EngineCircuits>();
  private readonly stats = new Map<string, InstanceStats>();
  /** Per engine, kept across pushes: counts in flight and queued calls must survive a config change. */
  private readonly admissions = new Map<string, Admission>();
  private live = new Set<string>();
  /** Increases on every applied change; tests and the admin page use it. */
  generation = 0;

  engine(name: string): EngineEntry | undefined {
    return this.engines.get(name);
  }

  engineForAuthority(host: string): string | undefined {
    return this.byAuthority.get(host);
  }

  engineForService(service: string): string | undefined {
    return this.byService.get(service);
  }

  engineNames(): string[] {
    return [...this.engines.keys()];
  }

  applyClusters(clusters: readonly EngineCluster[]): void {
    const engines = new Map<string, EngineEntry>();
    const live = new Set<string>();
    for (const cluster of clusters) {
      for (const e of cluster.endpoints) live.add(`${cluster.name}/${e.id}`);
      // An unchanged cluster keeps its picker, so pushes about other engines never reset its rotation.
      const fingerprint = JSON.stringify(cluster);
      const previous = this.engines.get(cluster.name);
      if (previous && previous.fingerprint === fingerprint) {
        engines.set(cluster.name, previous);
        continue;
      }
      const strategy = getStrategy(cluster.policy!.strategy)!; // validated on receipt
      const selection = selectEndpoints(cluster, (id) => this.statsFor(cluster.name, id));
      const timeoutMs = cluster.policy?.timeoutMs ?? 0;
      engines.set(cluster.name, {
        cluster,
        fingerprint,
        picker: strategy.build(selection.endpoints, selection.reason),
        defaultTimeoutMs: timeoutMs,
      });
    }
    this.engines = engines;
    this.live = live;
    for (const cluster of clusters) {
      const limits = admissionLimits(cluster);
      const existing = this.admissions.get(cluster.name);
      if (existing) existing.configure(limits);
      else this.admissions.set(cluster.name, new Admission(cluster.name, limits));
    }
    for (const [name, admission] of this.admissions) {
      if (!engines.has(name)) {
        admission.close(`engine "${name}" was removed from the configuration`);
        this.admissions.delete(name);
      }
    }
    this.generation++;
  }

  admission(engine: string): Admission | undefined {
    return this.admissions.get(engine);
  }

  applyRoutes(tables: readonly RouteTable[]): void {
    const byAuthority = new Map<string, string>();
    const byService = new Map<string, string>();
    for (const route of tables[0]?.routes ?? []) {
      for (const a of route.authorities) byAuthority.set(a, route.engine);
      for (const s of route.services) byService.set(s, route.engine);
    }
    this.byAuthority = byAuthority;
    this.byService = byService;
    this.generation++;
  }

  applyCircuits(circuits: readonly EngineCircuits[]): void {
    this.circuits = new Map(circuits.map((c) => [c.engine, c]));
    this.generation++;
  }

  circuitsOf(engine: string): EngineCircuits | undefined {
    return this.circuits.get(engine);
  }

  /** Every instance's stats; instances no longer configured are dropped after this read. */
  drainStats(): InstanceStats[] {
    const all = [...this.stats.values()];
    for (const [key, s] of this.stats) if (!this.live.has(key) && s.inFlight === 0) this.stats.delete(key);
    return all;
  }

  allStats(): IterableIterator<InstanceStats> {
    return this.stats.values();
  }

  private statsFor(engine: string, id: string): InstanceStats {
    const key = `${engine}/${id}`;
    let s = this.stats.get(key);
    if (!s) this.stats.set(key, (s = new InstanceStats(engine, id)));
    return s;
  }
}

function admissionLimits(cluster: EngineCluster): AdmissionLimits {
  const p = cluster.policy;
  return {
    maxConcurrent: p?.breaker?.maxRequests ?? 0,
    maxPending: p?.breaker?.maxPending ?? 0,
    queueTimeoutMs: p?.rateLimit?.queueTimeoutMs || 1_000,
    rate: p?.rateLimit?.requestsPerSecond ?? 0,
    burst: p?.rateLimit?.burst ?? 0,
  };
}
