import type { EngineCircuits, EngineCluster, RouteTable } from '../../gen/nerve/discovery/v1/resources';
import { selectEndpoints } from './balancer/endpoints';
import type { Picker, RoutableEndpoint } from './balancer/picker';
import { getStrategy } from './balancer/registry';
import { Admission, type AdmissionLimits } from './resilience/admission';
import { RetryBudget } from './resilience/retry-budget';
import { compileRetry, type Retry } from './resilience/retry-policy';
import type { RetryContext } from './proxy/forward';
import { InstanceStats } from './stats/instance-stats';

export interface EngineEntry {
  readonly cluster: EngineCluster;
  readonly picker: Picker;
  /** Deadline applied when the caller sets none (0: none). */
  readonly defaultTimeoutMs: number;
  /** What a failed attempt may do (retry policy, budget, re-pick); undefined: no retries. */
  readonly retry: RetryContext | undefined;
  /** Passive ejection of one of the engine's instances (see RoutingState.eject). */
  readonly eject: (endpoint: RoutableEndpoint) => void;
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
  private readonly budgets = new Map<string, RetryBudget>();
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
      const timeoutMs = cluster.policy?.timeoutMs ?? 0;
      engines.set(cluster.name, {
        cluster,
        fingerprint,
        picker: this.buildPicker(cluster),
        defaultTimeoutMs: timeoutMs,
        retry: this.retryContext(cluster.name, compileRetry(cluster.policy?.retry)),
        eject: (endpoint) => this.eject(cluster.name, endpoint.id),
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

  /**
   * Passive ejection (outlier detection): after a connection-level failure, or 5 failures in a row, this
   * router stops picking the instance for 2 s, doubling per ejection in a row up to 30 s, until a call to
   * it succeeds; at most 10 % of an engine's instances (at least one) are out at once. The engine's picker is rebuilt
   * now and again when the ejection ends. Ejection never empties an engine (then everyone is picked).
   */
  eject(engine: string, instanceId: string): void {
    const stats = this.stats.get(`${engine}/${instanceId}`);
    const now = performance.now();
    const entry = this.engines.get(engine);
    if (!stats || !entry || stats.ejectedUntil > now) return;
    // At most 10 % of the engine's instances out at once (at least one), as Envoy's max_ejection_percent.
    const ids = entry.cluster.endpoints.map((e) => e.id);
    const out = ids.filter((id) => (this.stats.get(`${engine}/${id}`)?.ejectedUntil ?? 0) > now).length;
    if (out >= Math.max(1, Math.floor(ids.length * MAX_EJECTED_SHARE))) return;
    const ms = Math.min(EJECTION_BASE_MS * 2 ** stats.ejections, EJECTION_MAX_MS);
    stats.ejections++;
    stats.ejectedUntil = now + ms;
    this.rebuildPicker(engine);
    setTimeout(() => this.rebuildPicker(engine), ms + 1).unref();
  }

  private rebuildPicker(engine: string): void {
    const entry = this.engines.get(engine);
    if (entry) this.engines.set(engine, { ...entry, picker: this.buildPicker(entry.cluster) });
  }

  private buildPicker(cluster: EngineCluster): Picker {
    const strategy = getStrategy(cluster.policy!.strategy)!; // validated on receipt
    const selection = selectEndpoints(cluster, (id) => this.statsFor(cluster.name, id));
    const now = performance.now();
    const kept = selection.endpoints.filter((e) => e.stats.ejectedUntil <= now);
    return strategy.build(kept.length > 0 ? kept : selection.endpoints, selection.reason);
  }

  /** Built once per config change, not per call. The budget outlives pushes, like the admission. */
  private retryContext(engine: string, retry: Retry | undefined): RetryContext | undefined {
    if (!retry) return undefined;
    let budget = this.budgets.get(engine);
    if (!budget) this.budgets.set(engine, (budget = new RetryBudget()));
    return {
      retry,
      budget,
      inFlight: () => this.admissions.get(engine)?.inFlight ?? 0,
      repick: (tried) => {
        // The current picker (config may have changed meanwhile), skipping instances already tried.
        const picker = this.engines.get(engine)?.picker;
        for (let i = 0; i < 4; i++) {
          const e = picker?.pick();
          if (e && !tried.has(e.id)) return e;
        }
        return undefined;
      },
    };
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

const EJECTION_BASE_MS = 2_000;
const MAX_EJECTED_SHARE = 0.1;
const EJECTION_MAX_MS = 30_000;

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
