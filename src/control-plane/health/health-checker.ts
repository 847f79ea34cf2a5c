import type { Logger } from 'winston';
import type { HealthCheckPolicy } from '../../../gen/nerve/discovery/v1/policy';
import type { EngineSpec } from '../../model/engine';
import { type CheckState, INITIAL_CHECK_STATE, recordCheck } from '../../model/health';
import { HealthProbe } from '../../protocol/health-probe';
import { TimerWheel } from './timer-wheel';

interface Target {
  readonly key: string;
  readonly engine: string;
  address: string;
  policy: HealthCheckPolicy;
  probe: HealthProbe;
  state: CheckState;
  /** The check in flight: ends it as timed out. */
  timeout: ((timeoutMs: number) => void) | undefined;
  instanceId: string;
}

/** Checks due within this long of each other leave together (TimerWheel). */
const TICK_MS = 20;

/** Called when an instance's health status (not just its counters) changes. */
export type HealthChangeListener = (
  engine: string,
  instanceId: string,
  state: CheckState,
  previous?: CheckState,
) => void;

/**
 * Active health checking with grpc.health.v1.Health/Check, one timer per instance, each on its engine's
 * policy. An instance is SERVING or it fails the check (NOT_SERVING, an error, or no answer in time).
 */
export class HealthChecker {
  private readonly targets = new Map<string, Target>();
  private stopped = false;
  /** When each target's next check is due. */
  private readonly due = new TimerWheel<Target>(TICK_MS, (t) => this.check(t));
  /** When each check in flight times out. */
  private readonly deadlines = new TimerWheel<Target>(TICK_MS, (t) => t.timeout?.(t.policy.timeoutMs));

  /**
   * `onChange` hears status changes, `onCheck` every check; `initial` seeds a new target's state, so a
   * replica that takes over checking continues from the fleet's last known state instead of `unknown`.
   */
  constructor(
    private readonly logger: Logger,
    private readonly onChange: HealthChangeListener,
    private readonly onCheck: HealthChangeListener = () => undefined,
    private readonly initial: (engine: string, instanceId: string) => CheckState = () => INITIAL_CHECK_STATE,
  ) {}

  /** Checks started so far (tests: no instance is probed twice over by the fleet). */
  checks = 0;

  static key(engine: string, instanceId: string): string {
    return `${engine}/${instanceId}`;
  }

  state(engine: string, instanceId: string): CheckState {
    return this.targets.get(HealthChecker.key(engine, instanceId))?.state ?? INITIAL_CHECK_STATE;
  }

  /** Aligns the checked set with the specs: new instances start checking at once, removed ones stop. */
  sync(specs: readonly EngineSpec[]): void {
    if (this.stopped) return;
    const names = new Set(specs.map((s) => s.name));
    for (const spec of specs) this.syncEngine(spec.name, spec);
    for (const target of [...this.targets.values()]) if (!names.has(target.engine)) this.remove(target);
  }

  /** Aligns one engine's checks with its spec (undefined: the engine was deleted). */
  syncEngine(name: string, spec: EngineSpec | undefined): void {
    if (this.stopped) return;
    const wanted = new Set<string>();
    for (const instance of spec?.instances ?? []) {
      const key = HealthChecker.key(name, instance.id);
      wanted.add(key);
      const policy = spec!.policy.healthCheck!;
      const existing = this.targets.get(key);
      if (existing && existing.address === instance.address) {
        existing.policy = policy;
        continue;
      }
      if (existing) this.remove(existing);
      const target: Target = {
        key,
        engine: name,
        address: instance.address,
        policy,
        probe: new HealthProbe(instance.address),
        state: this.initial(name, instance.id),
        timeout: undefined,
        instanceId: instance.id,
      };
      this.targets.set(key, target);
      this.check(target);
    }
    for (const target of [...this.targets.values()])
      if (target.engine === name && !wanted.has(target.key)) this.remove(target);
  }

  /**
   * Checks an instance now instead of at its next interval (its supervisor saw it crash or come back),
   * unless a check of it is in flight.
   */
  checkNow(engine: string, instanceId: string): void {
    const target = this.targets.get(HealthChecker.key(engine, instanceId));
    if (!target || target.timeout) return;
    this.due.cancel(target);
    this.check(target);
  }

  stop(): void {
    this.stopped = true;
    for (const target of this.targets.values()) this.remove(target);
    this.due.stop();
    this.deadlines.stop();
  }

  private remove(target: Target): void {
    this.due.cancel(target);
    this.deadlines.cancel(target);
    target.probe.close();
    this.targets.delete(target.key);
  }

  private check(target: Target): void {
    if (target.timeout) return; // one check at a time
    const { engine, instanceId } = target;
    this.checks++;
    const started = performance.now();
    this.deadlines.schedule(target, Date.now() + target.policy.timeoutMs);
    target.timeout = target.probe.check((result) => {
      target.timeout = undefined;
      this.deadlines.cancel(target);
      if (this.targets.get(target.key) !== target) return; // removed while in flight
      const ok = 'status' in result && result.status === 'SERVING';
      const error = 'error' in result ? result.error : `status ${result.status}`;
      const previous = target.state;
      target.state = recordCheck(
        previous,
        { ok, error, atMs: Date.now(), latencyMs: performance.now() - started },
        target.policy,
      );
      if (target.state.status !== previous.status) {
        const level = target.state.status === 'unhealthy' ? 'warn' : 'info';
        this.logger.log(level, 'instance health changed', {
          engine,
          instanceId,
          address: target.address,
          from: previous.status,
          to: target.state.status,
          error: target.state.lastError,
        });
        this.onChange(engine, instanceId, target.state, previous);
      }
      this.onCheck(engine, instanceId, target.state);
      this.due.schedule(target, Date.now() + target.policy.intervalMs);
    });
  }
}
