import type { EnginePolicy } from '../../../gen/nerve/discovery/v1/policy';
import type { EngineCircuits, InstanceCircuit } from '../../../gen/nerve/discovery/v1/resources';
import { type BreakerConfig, breakerConfig, CircuitBreaker, CircuitState } from './circuit-breaker';
import { type Clock, REAL_CLOCK } from './clock';

/** A breaker's state as the router reports it. */
export interface CircuitReportEntry {
  readonly engine: string;
  /** '' for the engine-wide breaker. */
  readonly instanceId: string;
  readonly state: CircuitState;
  readonly sinceMs: number;
}

/** `stateChanged` false: only the half-open probe permits ran out or came back (rotation may change). */
export type BreakerListener = (
  engine: string,
  instanceId: string,
  breaker: CircuitBreaker,
  stateChanged: boolean,
) => void;

/**
 * This router's circuit breakers: one per instance and one per engine, all configured from the engine's
 * policy, kept across config pushes. Applies the control plane's global circuit states edge-triggered: a
 * global OPEN it has not seen before opens the local breaker once (it then probes on its own schedule); a
 * newer manual reset closes it.
 */
export class BreakerRegistry {
  private readonly instances = new Map<string, CircuitBreaker>();
  private readonly engines = new Map<string, CircuitBreaker>();
  private readonly configs = new Map<string, BreakerConfig>();
  private readonly policies = new Map<string, EnginePolicy | undefined>();
  /** Global OPEN transitions (since_ms) and resets (reset_at_ms) already applied, by key. */
  private readonly seenOpen = new Map<string, number>();
  private readonly seenReset = new Map<string, number>();
  /** Breakers whose state changed since the last report: reported even when closed again. */
  private readonly changed = new Map<string, CircuitReportEntry>();
  /** State changes by `${engine}/${instance}/${state}`, for Prometheus. */
  readonly transitions = new Map<string, number>();

  constructor(
    private readonly onChange: BreakerListener,
    private readonly clock: Clock = REAL_CLOCK,
  ) {}

  configure(engine: string, policy: EnginePolicy | undefined): void {
    const config = breakerConfig(policy?.breaker);
    this.configs.set(engine, config);
    this.policies.set(engine, policy);
    this.engines.get(engine)?.configure(engineWide(config, policy));
    for (const [key, b] of this.instances) if (key.startsWith(`${engine}/`)) b.configure(config);
  }

  instance(engine: string, instanceId: string): CircuitBreaker {
    const key = `${engine}/${instanceId}`;
    let b = this.instances.get(key);
    if (!b) this.instances.set(key, (b = this.create(engine, instanceId)));
    return b;
  }

  engine(engine: string): CircuitBreaker {
    let b = this.engines.get(engine);
    if (!b) this.engines.set(engine, (b = this.create(engine, '')));
    return b;
  }

  /** Drops the breakers of instances and engines no longer configured. */
  retain(liveInstances: ReadonlySet<string>, liveEngines: ReadonlySet<string>): void {
    for (const [key, b] of this.instances)
      if (!liveInstances.has(key)) {
        b.dispose();
        this.instances.delete(key);
        this.seenOpen.delete(key);
        this.seenReset.delete(key);
      }
    for (const [name, b] of this.engines)
      if (!liveEngines.has(name)) {
        b.dispose();
        this.engines.delete(name);
        this.configs.delete(name);
        this.seenOpen.delete(`${name}/`);
        this.seenReset.delete(`${name}/`);
        this.policies.delete(name);
      }
  }

  /** `onReset` hears each instance whose newer reset this call applied. */
  applyGlobal(
    circuits: readonly EngineCircuits[],
    onReset: (engine: string, instanceId: string) => void = () => undefined,
  ): void {
    for (const c of circuits) {
      if (c.engineCircuit) this.applyOne(c.engine, c.engineCircuit, this.engine(c.engine));
      for (const i of c.instances)
        if (this.applyOne(c.engine, i, this.instance(c.engine, i.instanceId)))
          onReset(c.engine, i.instanceId);
    }
  }

  /** Applies one global state; true when it carried a reset not applied before. */
  private applyOne(engine: string, global: InstanceCircuit, breaker: CircuitBreaker): boolean {
    const key = `${engine}/${global.instanceId}`;
    let reset = false;
    if (global.resetAtMs > (this.seenReset.get(key) ?? 0)) {
      reset = true;
      this.seenReset.set(key, global.resetAtMs);
      if (breaker.state !== CircuitState.CIRCUIT_STATE_CLOSED || breaker.trips > 0)
        breaker.reset('reset by an operator through the control plane');
    }
    if (global.state === CircuitState.CIRCUIT_STATE_OPEN && this.seenOpen.get(key) !== global.sinceMs) {
      this.seenOpen.set(key, global.sinceMs);
      breaker.forceOpen(`open on ${global.openOn} of ${global.reporters} routers (control plane)`);
    }
    return reset;
  }

  /** States to report: every breaker not closed, and every one that changed since the last call. */
  takeReport(): CircuitReportEntry[] {
    const out = new Map(this.changed);
    this.changed.clear();
    const add = (engine: string, instanceId: string, b: CircuitBreaker) => {
      if (b.state !== CircuitState.CIRCUIT_STATE_CLOSED)
        out.set(`${engine}/${instanceId}`, { engine, instanceId, state: b.state, sinceMs: b.sinceMs });
    };
    for (const [key, b] of this.instances)
      add(key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1), b);
    for (const [engine, b] of this.engines) add(engine, '', b);
    return [...out.values()];
  }

  /** Every breaker, for the admin page and metrics. */
  *all(): IterableIterator<{ engine: string; instanceId: string; breaker: CircuitBreaker }> {
    for (const [key, breaker] of this.instances) {
      const slash = key.indexOf('/');
      yield { engine: key.slice(0, slash), instanceId: key.slice(slash + 1), breaker };
    }
    for (const [engine, breaker] of this.engines) yield { engine, instanceId: '', breaker };
  }

  private create(engine: string, instanceId: string): CircuitBreaker {
    const name = instanceId ? `engine "${engine}" instance "${instanceId}"` : `engine "${engine}"`;
    const base = this.configs.get(engine) ?? breakerConfig(undefined);
    const config = instanceId ? base : engineWide(base, this.policies.get(engine));
    return new CircuitBreaker(
      name,
      config,
      (b, stateChanged) => {
        if (!stateChanged) return this.onChange(engine, instanceId, b, false);
        const key = `${engine}/${instanceId}`;
        this.changed.set(key, { engine, instanceId, state: b.state, sinceMs: b.sinceMs });
        const counter = `${key}/${CircuitState[b.state]}`;
        this.transitions.set(counter, (this.transitions.get(counter) ?? 0) + 1);
        this.onChange(engine, instanceId, b, true);
      },
      this.clock,
    );
  }
}

/** The engine-wide breaker judges failures by its own (higher) threshold; the rest is shared. */
function engineWide(config: BreakerConfig, policy: EnginePolicy | undefined): BreakerConfig {
  return { ...config, failureRateThreshold: policy?.breaker?.engineFailureRateThreshold ?? 80 };
}
