import type { EngineSpec } from '../../model/engine';
import { type CheckState, INITIAL_CHECK_STATE } from '../../model/health';
import type { Logger } from '../../observability/logger';
import type { ConfigStore } from '../../store/config-store';
import type { EngineCatalog } from '../config/engine-catalog';
import type { EventBus } from '../kernel/events';
import type { LeaderElection } from '../leader/leader-election';
import { Disposables, type Module } from '../kernel/module';
import { HealthChecker } from './health-checker';
import { HealthHistory, type HealthTransition } from './health-history';
import { SharedNamespace } from '../../store/shared-namespace';

/** Shared namespace of health results: field `engine/instance` → CheckState. */
export const HEALTH_NS = new SharedNamespace<CheckState & { readonly by?: string }>(
  'health',
  'the leader (health probing), fenced',
);

/** An instance's last probe result as the leader shared it (every replica reads the same). */
export function checkStateOf(store: ConfigStore, engine: string, instanceId: string): CheckState {
  return HEALTH_NS.get(store, `${engine}/${instanceId}`) ?? INITIAL_CHECK_STATE;
}

/** Counters (not status) of checks are shared at most this often; status changes at once. */
const COUNTERS_EVERY_MS = 5_000;

/**
 * Active health checking, once per fleet: the leader probes every instance and writes each status
 * change (fenced) to the store's shared health; every replica, the leader included, serves health from
 * that shared state, so all publish the same. A replica that becomes leader seeds its checks from it.
 */
export class HealthModule implements Module {
  readonly name = 'health';
  private checker: HealthChecker | undefined;
  private readonly pending = new Map<string, CheckState>();
  /** The status last announced per instance, so that shared counters alone announce nothing. */
  private readonly statuses = new Map<string, CheckState['status']>();
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly disposables = new Disposables();
  /** Checks this replica ran (all leaderships together). */
  private pastChecks = 0;

  constructor(
    private readonly store: ConfigStore,
    private readonly engines: EngineCatalog,
    private readonly bus: EventBus,
    private readonly leader: LeaderElection,
    private readonly logger: Logger,
    private readonly enabled: boolean,
    /** Every probe's result, for metrics (runs on the leader only). */
    private readonly onProbe: (engine: string, instanceId: string, state: CheckState) => void = () =>
      undefined,
  ) {
    this.history = new HealthHistory(store);
  }

  /** Status transitions with their reasons, as the leader recorded them (the same on every replica). */
  readonly history: HealthHistory;
  /** Transitions waiting to be appended (appends are serialised: each rewrites the engine's list). */
  private readonly transitions = new Map<string, HealthTransition[]>();
  private appending: Promise<void> | undefined;

  get checks(): number {
    return this.pastChecks + (this.checker?.checks ?? 0);
  }

  start(): void {
    this.disposables.add(
      this.store.watchShared((c) => {
        const changed = HEALTH_NS.changed(c);
        if (!changed) return;
        const state = changed.value ?? INITIAL_CHECK_STATE;
        // Counters are shared every few seconds; only a change of status is an event (and a rebuild).
        if (this.statuses.get(c.field) === state.status) return;
        if (changed.value === undefined) this.statuses.delete(c.field);
        else this.statuses.set(c.field, state.status);
        const at = c.field.indexOf('/');
        this.bus.emit('health.changed', {
          engine: c.field.slice(0, at),
          instanceId: c.field.slice(at + 1),
          state,
        });
      }),
    );
    if (!this.enabled) return;
    this.disposables.add(this.bus.on('leader.changed', (e) => (e.leading ? this.lead() : this.follow())));
    this.disposables.add(
      this.bus.on('engine.changed', (e) => {
        if (!this.checker) return;
        const name = e.kind === 'put' ? e.spec.name : e.name;
        this.checker.syncEngine(name, e.kind === 'put' ? e.spec : undefined);
        const fence = this.leader.fence;
        if (e.kind !== 'put' && fence) void this.history.forget([name], fence).catch(() => undefined);
        this.forget(e.kind === 'put' ? [e.spec] : [], name);
      }),
    );
    if (this.leader.leading) this.lead();
  }

  stop(): void {
    this.disposables.dispose();
    this.follow();
  }

  /** What the fleet's leader last measured of an instance. */
  state(engine: string, instanceId: string): CheckState {
    return checkStateOf(this.store, engine, instanceId);
  }

  /** On the leader: probes an instance now (a supervisor saw it exit or come back). */
  checkNow(engine: string, instanceId: string): void {
    this.checker?.checkNow(engine, instanceId);
  }

  private lead(): void {
    if (this.checker) return;
    this.checker = new HealthChecker(
      this.logger,
      (engine, id, state, previous) => {
        void this.share([[`${engine}/${id}`, state]]);
        this.recordTransition(engine, id, previous?.status ?? 'unknown', state);
      },
      (engine, id, state) => {
        this.pending.set(`${engine}/${id}`, state);
        this.onProbe(engine, id, state);
      },
      (engine, id) => this.state(engine, id),
    );
    const specs = this.engines.listNow();
    this.checker.sync(specs);
    this.forgetAll(specs);
    this.flushTimer = setInterval(() => this.flushCounters(), COUNTERS_EVERY_MS).unref();
  }

  private follow(): void {
    if (!this.checker) return;
    this.pastChecks += this.checker.checks;
    this.checker.stop();
    this.checker = undefined;
    clearInterval(this.flushTimer);
    this.pending.clear();
  }

  private recordTransition(engine: string, instance: string, from: string, state: CheckState): void {
    const atMs = state.lastCheckMs || Date.now();
    const reason =
      state.status === 'unhealthy'
        ? `probe failing (${state.consecutiveFailures} in a row): ${state.lastError || 'check failed'}`
        : `probe passing (${state.consecutiveSuccesses} in a row)`;
    this.note(engine, {
      at: new Date(atMs).toISOString(),
      atMs,
      instance,
      from,
      to: state.status,
      reason,
      kind: 'probe',
    });
  }

  /**
   * Queues one change of an instance's routing status for the engine's history (the leader's only:
   * a follower's notes are dropped, as it does not write history).
   */
  note(engine: string, transition: HealthTransition): void {
    const list = this.transitions.get(engine) ?? [];
    list.push(transition);
    this.transitions.set(engine, list);
    this.appending ??= this.appendTransitions();
  }

  private async appendTransitions(): Promise<void> {
    while (this.transitions.size > 0) {
      const batch = new Map(this.transitions);
      this.transitions.clear();
      const fence = this.leader.fence;
      if (!fence) break;
      try {
        await this.history.append(batch, fence);
      } catch (err) {
        this.logger.warn('health transitions not recorded', { error: String(err) });
      }
    }
    this.appending = undefined;
  }

  private flushCounters(): void {
    if (this.pending.size === 0) return;
    const fields = [...this.pending].map(([k, v]) => [k, v] as const);
    this.pending.clear();
    void this.share(fields);
  }

  /** Health of instances no longer configured is removed, so the shared state does not grow forever. */
  private forget(specs: readonly EngineSpec[], engine: string): void {
    const keep = new Set(specs.flatMap((s) => s.instances.map((i) => `${s.name}/${i.id}`)));
    const gone = [...HEALTH_NS.map(this.store).keys()].filter(
      (k) => k.startsWith(`${engine}/`) && !keep.has(k),
    );
    if (gone.length > 0) void this.share(gone.map((k) => [k, undefined] as const));
  }

  private forgetAll(specs: readonly EngineSpec[]): void {
    const keep = new Set(specs.flatMap((s) => s.instances.map((i) => `${s.name}/${i.id}`)));
    const gone = [...HEALTH_NS.map(this.store).keys()].filter((k) => !keep.has(k));
    if (gone.length > 0) void this.share(gone.map((k) => [k, undefined] as const));
  }

  private async share(fields: readonly (readonly [string, CheckState | undefined])[]): Promise<void> {
    const fence = this.leader.fence;
    if (!fence) return this.follow();
    // Each result names the leadership that measured it (`by`), so an operator can tell whose it is.
    const signed = fields.map(([k, v]) => [k, v && { ...v, by: fence }] as const);
    try {
      await HEALTH_NS.put(this.store, signed, fence);
    } catch (err) {
      this.logger.warn('health result not shared', { error: String(err) });
    }
  }
}
