import type { EngineCircuits, EngineCluster, RouteTable } from '../../../gen/nerve/discovery/v1/resources';
import { selectEndpoints } from '../balancer/endpoints';
import type { Picker, RoutableEndpoint } from '../balancer/picker';
import { getStrategy } from '../balancer/registry';
import { applySlowStart } from '../balancer/slow-start';
import { Admission, type AdmissionLimits } from '../resilience/admission';
import { GradientController } from '../resilience/adaptive-concurrency';
import { BreakerRegistry } from '../resilience/breaker-registry';
import type { CircuitBreaker } from '../resilience/circuit-breaker';
import { OutlierDetector } from '../resilience/outlier-detector';
import { type BudgetPolicy, RetryBudget } from '../resilience/retry-budget';
import { compileHedging, compileRetry, type Hedging, type Retry } from '../resilience/retry-policy';
import { compileDegraded, type DegradedReply } from './degraded';
import type { RetryContext } from './call-options';
import { InstanceStats } from '../stats/instance-stats';
import { ResponseCache } from '../cache/response-cache';
import { CanaryRouting } from '../canary/canary-routing';

export interface EngineEntry {
  readonly cluster: EngineCluster;
  /** Replaced in place when an ejection or a circuit changes which instances take traffic. */
  picker: Picker;
  /** Deadline applied when the caller sets none (0: none). */
  readonly defaultTimeoutMs: number;
  /** What a failed attempt may do, and where hedges go: retry policy (if any), budget, re-pick. */
  readonly retry: RetryContext;
  /** Passive ejection of one of the engine's instances (outlier detection). */
  readonly eject: (endpoint: RoutableEndpoint, reason: string) => void;
  /** Instance failures in a row that eject it; 0: never. */
  readonly consecutiveErrors: number;
  /** The engine-wide circuit breaker. */
  readonly breaker: CircuitBreaker;
  /** Hedging for the engine's idempotent methods; undefined: none. */
  readonly hedging: Hedging | undefined;
  /** What callers get when nothing can serve, if configured. */
  readonly degraded: DegradedReply | undefined;
  /** Identifies the cluster's content, to keep the entry when an update leaves it unchanged. */
  readonly fingerprint: string;
  /** The engine's response cache, when its policy has one (it outlives config pushes). */
  readonly cache: ResponseCache | undefined;
  /** The engine's adaptive concurrency limit, when its policy has one: fed the latency of served calls. */
  readonly concurrency: GradientController | undefined;
  /** A rollout's match rules, session split and mirroring, while one routes by call. */
  readonly canary: CanaryRouting | undefined;
}

const EMPTY_CACHES: ReadonlyMap<string, ResponseCache> = new Map();

/** Something happened an operator should hear of (ejections, circuit changes): logged by the router. */
export type RoutingEvent = (message: string, fields: Record<string, unknown>) => void;

/**
 * Picks an instance of the engine, taking a probe permit when its circuit is half-open. Allocation-free;
 * undefined when nothing of the engine can serve (the picker's reason says why).
 */
export function pickEndpoint(
  entry: EngineEntry,
  sessionKey?: string,
  picker: Picker = entry.picker,
): RoutableEndpoint | undefined {
  for (let i = 0; i < 2; i++) {
    const e = picker.pick(sessionKey);
    if (e === undefined || e.breaker === undefined || e.breaker.tryAcquire()) return e;
    // A half-open instance out of permits: the breaker has rebuilt the picker without it; pick again.
  }
  return undefined;
}

/**
 * Everything the router knows from the control plane, in the shape the request path needs: engines by
 * name with ready pickers, and lookups from :authority and service to engine. Replaced per xDS update;
 * read per request. Per-instance state (stats, breakers, admission, retry budgets) outlives updates.
 */
export class RoutingState {
  private engines = new Map<string, EngineEntry>();
  private readonly caches = new Map<string, { cache: ResponseCache; policyKey: string; versions: string }>();
  private byAuthority = new Map<string, string>();
  private byService = new Map<string, string>();
  private readonly stats = new Map<string, InstanceStats>();
  /** Per engine, kept across pushes: counts in flight and queued calls must survive a config change. */
  private readonly admissions = new Map<string, Admission>();
  private readonly budgets = new Map<string, RetryBudget>();
  /** Per engine, kept while its adaptive concurrency policy stays the same (the limit is learnt). */
  private readonly limiters = new Map<string, { controller: GradientController; policyKey: string }>();
  private live = new Set<string>();
  /** Per engine, the instance ids its current picker was built over. */
  private readonly rotations = new Map<string, readonly string[]>();
  /** Per engine, the rebuild that moves a slow start's ramp on. */
  private readonly ramps = new Map<string, NodeJS.Timeout>();
  readonly breakers: BreakerRegistry;
  readonly outliers: OutlierDetector;
  /** Increases on every applied change; tests and the admin page use it. */
  generation = 0;

  constructor(private readonly onEvent: RoutingEvent = () => undefined) {
    this.breakers = new BreakerRegistry((engine, instanceId, breaker, stateChanged) =>
      this.onCircuitChange(engine, instanceId, breaker, stateChanged),
    );
    this.outliers = new OutlierDetector({
      instancesOf: (engine) => {
        const entry = this.engines.get(engine);
        return entry?.cluster.endpoints.map((e) => this.statsFor(engine, e.id));
      },
      policyOf: (engine) => this.engines.get(engine)?.cluster.policy?.outlier,
      rebuild: (engine) => this.rebuildPicker(engine),
      ejected: (engine, instance, ms, reason) =>
        this.onEvent('instance ejected', { engine, instance, ms, reason }),
    });
  }

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
      // An unchanged cluster keeps its entry, so pushes about other engines never reset its rotation.
      const fingerprint = JSON.stringify(cluster);
      const previous = this.engines.get(cluster.name);
      if (previous && previous.fingerprint === fingerprint) {
        engines.set(cluster.name, previous);
        continue;
      }
      this.breakers.configure(cluster.name, cluster.policy);
      engines.set(cluster.name, {
        cluster,
        fingerprint,
        picker: this.buildPicker(cluster),
        defaultTimeoutMs: cluster.policy?.timeoutMs ?? 0,
        retry: this.retryContext(cluster.name, compileRetry(cluster.policy?.retry), cluster.policy?.retry),
        eject: (endpoint, reason) => this.outliers.eject(cluster.name, endpoint.stats, reason),
        consecutiveErrors: cluster.policy?.outlier?.consecutiveErrors ?? 5,
        breaker: this.breakers.engine(cluster.name),
        degraded: compileDegraded(cluster.name, cluster.policy?.degraded),
        hedging: compileHedging(cluster.policy?.hedging),
        cache: this.cacheFor(cluster),
        concurrency: this.limiterFor(cluster),
        canary:
          cluster.canary &&
          new CanaryRouting(cluster.canary, cluster, (part) => this.buildPicker(part, false)),
      });
    }
    for (const name of [...this.limiters.keys()])
      if (!engines.get(name)?.concurrency) this.limiters.delete(name);
    for (const name of [...this.caches.keys()]) if (!engines.get(name)?.cache) this.caches.delete(name);
    this.engines = engines;
    this.live = live;
    this.breakers.retain(live, new Set(engines.keys()));
    for (const cluster of clusters) {
      const limits = admissionLimits(cluster, engines.get(cluster.name)!.concurrency);
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

  /** Every engine's response cache (metrics). */
  responseCaches(): ReadonlyMap<string, ResponseCache> {
    return this.caches.size === 0 ? EMPTY_CACHES : new Map([...this.caches].map(([k, v]) => [k, v.cache]));
  }

  /**
   * The engine's cache: kept across pushes while its policy stays the same, emptied when the engine's
   * version weights change (answers may come from another version now), made anew for a new policy.
   */
  private cacheFor(cluster: EngineCluster): ResponseCache | undefined {
    const policy = cluster.policy?.cache;
    if (!policy || policy.methods.length === 0) return undefined;
    const policyKey = JSON.stringify(policy);
    const versions = JSON.stringify(cluster.versions);
    const held = this.caches.get(cluster.name);
    if (held && held.policyKey === policyKey) {
      if (held.versions !== versions) {
        held.cache.clear();
        held.versions = versions;
      }
      return held.cache;
    }
    const cache = new ResponseCache(policy);
    this.caches.set(cluster.name, { cache, policyKey, versions });
    return cache;
  }

  /** The engine's learnt limit: kept while its policy stays the same, made anew for a new one. */
  private limiterFor(cluster: EngineCluster): GradientController | undefined {
    const policy = cluster.policy?.adaptiveConcurrency;
    if (!policy?.enabled) return undefined;
    const policyKey = JSON.stringify(policy);
    const held = this.limiters.get(cluster.name);
    if (held && held.policyKey === policyKey) return held.controller;
    const controller = new GradientController(policy, performance.now());
    controller.inFlight = () => this.admissions.get(cluster.name)?.inFlight ?? 0;
    this.limiters.set(cluster.name, { controller, policyKey });
    return controller;
  }

  admission(engine: string): Admission | undefined {
    return this.admissions.get(engine);
  }

  /** Ejects one instance from this router's rotation; false when it is out already or the engine is at its limit. */
  eject(engine: string, instanceId: string, reason = 'ejected by hand'): boolean {
    const stats = this.stats.get(`${engine}/${instanceId}`);
    return stats !== undefined && this.outliers.eject(engine, stats, reason);
  }

  /** Success-rate outlier detection; the router calls it every second. */
  sweepOutliers(): void {
    this.outliers.sweep(this.engines.keys());
  }

  private onCircuitChange(
    engine: string,
    instanceId: string,
    breaker: CircuitBreaker,
    stateChanged: boolean,
  ): void {
    if (instanceId !== '') this.rebuildPicker(engine);
    if (!stateChanged) return; // probe permits ran out or came back: a rotation change only
    this.onEvent('circuit changed', {
      engine,
      instance: instanceId || undefined,
      state: breaker.state,
      reason: breaker.reason,
    });
  }

  private rebuildPicker(engine: string): void {
    const entry = this.engines.get(engine);
    if (!entry) return;
    entry.picker = this.buildPicker(entry.cluster);
    entry.canary?.rebuild((part) => this.buildPicker(part, false));
  }

  /**
   * Instances with an open circuit (or a half-open one out of probe permits) are out; so are ejected ones,
   * but ejection never empties an engine (then every instance with a closed circuit is picked), and the
   * panic mode ignores it as it ignores health.
   */
  private buildPicker(cluster: EngineCluster, whole = true): Picker {
    const strategy = getStrategy(cluster.policy!.strategy)!; // validated on receipt
    const selection = selectEndpoints(
      cluster,
      (id) => this.statsFor(cluster.name, id),
      (id) => this.breakers.instance(cluster.name, id),
    );
    const closed = selection.endpoints.filter((e) => e.breaker!.admits);
    if (closed.length === 0 && selection.endpoints.length > 0) {
      const open = selection.endpoints[0].breaker!;
      const why = `every routable instance of engine "${cluster.name}" has an open circuit (${open.name}: ${open.reason})`;
      if (whole) this.rotations.set(cluster.name, []);
      return strategy.build([], why);
    }
    const now = performance.now();
    const kept = selection.panic ? closed : closed.filter((e) => e.stats.ejectedUntil <= now);
    const members = kept.length > 0 ? kept : closed;
    // A part of the cluster (a rollout's canary or stable versions) neither ramps nor is the rotation.
    if (!whole) return strategy.build(members, selection.reason);
    const previous = this.rotations.get(cluster.name);
    this.rotations.set(
      cluster.name,
      members.map((e) => e.id),
    );
    // A ring hash rebuilt with changing weights would move sessions at every step: no slow start there, as in Envoy.
    const policy = cluster.policy?.strategy === 'sticky' ? undefined : cluster.policy?.slowStart;
    const ramp = applySlowStart(policy, members, previous, now);
    if (ramp.nextMs > 0) this.scheduleRamp(cluster.name, ramp.nextMs);
    return strategy.build(ramp.members, selection.reason);
  }

  /** One pending rebuild per engine while an instance ramps up. */
  private scheduleRamp(engine: string, ms: number): void {
    if (this.ramps.has(engine)) return;
    const timer = setTimeout(() => {
      this.ramps.delete(engine);
      this.rebuildPicker(engine);
    }, ms);
    timer.unref();
    this.ramps.set(engine, timer);
  }

  /** Instance ids the engine's picker chooses from now (admin view). */
  inRotation(engine: string): readonly string[] {
    return this.rotations.get(engine) ?? [];
  }

  /** One instance's stats, if the router has any (admin view; never creates them). */
  instanceStats(engine: string, instanceId: string): InstanceStats | undefined {
    return this.stats.get(`${engine}/${instanceId}`);
  }

  /** Built once per config change, not per call. The budget outlives pushes, like the admission. */
  private retryContext(
    engine: string,
    retry: Retry | undefined,
    policy: BudgetPolicy | undefined,
  ): RetryContext {
    let budget = this.budgets.get(engine);
    if (!budget) this.budgets.set(engine, (budget = new RetryBudget()));
    budget.configure(policy);
    return {
      retry,
      budget,
      inFlight: () => this.admissions.get(engine)?.inFlight ?? 0,
      repick: (tried) => {
        // The current picker (config may have changed meanwhile), skipping instances already tried.
        const entry = this.engines.get(engine);
        if (!entry) return undefined;
        for (let i = 0; i < 4; i++) {
          const e = entry.picker.pick();
          if (e && !tried.has(e.id) && (e.breaker === undefined || e.breaker.tryAcquire())) return e;
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

  /** The control plane's global circuit states (aggregated over routers), applied edge-triggered. */
  applyCircuits(circuits: readonly EngineCircuits[]): void {
    // A reset (by an operator, or by a supervisor that restarted the instance) ends its ejection too:
    // the failures that caused it belong to what was reset.
    for (const c of circuits) this.budgets.get(c.engine)?.applyFleet(c.retryBudget);
    this.breakers.applyGlobal(circuits, (engine, instanceId) => {
      const stats = this.instanceStats(engine, instanceId);
      if (!stats || stats.ejectedUntil === 0) return;
      stats.ejectedUntil = 0;
      this.rebuildPicker(engine);
    });
    this.generation++;
  }

  /** Per engine, its retry budget (reports, the admin page). */
  retryBudgets(): ReadonlyMap<string, RetryBudget> {
    return this.budgets;
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

function admissionLimits(cluster: EngineCluster, adaptive: GradientController | undefined): AdmissionLimits {
  const p = cluster.policy;
  return {
    adaptive,
    maxConcurrent: p?.breaker?.maxRequests ?? 0,
    maxPending: p?.breaker?.maxPending ?? 0,
    queueTimeoutMs: p?.rateLimit?.queueTimeoutMs || 1_000,
    rate: p?.rateLimit?.requestsPerSecond ?? 0,
    burst: p?.rateLimit?.burst ?? 0,
  };
}
