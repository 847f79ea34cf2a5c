import type { AlertView } from '../alerts/alert-views';
import type { FeedPeriods } from '../context/plane-options';
import { namespaceOf } from '../../model/engine';
import type { FleetReads } from '../views/fleet-reads';
import { circuitsView } from '../circuits/circuit-view';
import type { EngineCatalog } from '../config/engine-catalog';
import type { EventBus } from '../kernel/events';
import { Disposables, type Module } from '../kernel/module';
import type { FeedHub } from './feed-hub';

/** Health changes within this long publish their engines' health once. */
const CHANGE_BURST_MS = 100;

export const DEFAULT_FEED_PERIODS: FeedPeriods = { metricsMs: 5_000, healthMs: 10_000 };

/**
 * What the live feed says, from the views every transport shares (FleetReads): metrics and health per engine
 * at their periods, health transitions as they happen, configuration and engine changes, circuit
 * changes. Each replica makes its own feed from state every replica holds.
 */
export class FeedModule implements Module {
  readonly name = 'feed';
  private readonly disposables = new Disposables();

  constructor(
    private readonly hub: FeedHub,
    private readonly reads: FleetReads,
    /** Alerts as GET /alerts lists them. */
    private readonly alerts: () => readonly AlertView[],
    private readonly engines: EngineCatalog,
    private readonly bus: EventBus,
    private readonly periods: FeedPeriods = DEFAULT_FEED_PERIODS,
  ) {}

  start(): void {
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms).unref();
      this.disposables.add(() => clearInterval(t));
    };
    every(this.periods.metricsMs, () => this.publishMetrics());
    every(this.periods.healthMs, () => void this.publishHealth());
    const ns = (engine: string) => {
      const spec = this.engines.getNow(engine);
      return spec ? namespaceOf(spec) : undefined;
    };
    this.disposables.add(
      this.bus.on('health.changed', (e) => {
        const history = this.reads.healthHistoryNow(e.engine).filter((t) => t.instance === e.instanceId);
        const last = history[history.length - 1];
        this.hub.publish(
          'health',
          {
            engine: e.engine,
            instance: e.instanceId,
            change: true,
            to: e.state.status,
            ...(last && last.to === e.state.status ? { from: last.from, reason: last.reason } : {}),
            lastError: e.state.lastError,
          },
          { engine: e.engine, namespace: ns(e.engine) },
        );
        // The engine's status may have changed with it: published once per burst of changes (a fleet
        // coming up changes a thousand instances at once).
        this.engineChanged(e.engine);
      }),
    );
    this.disposables.add(
      this.bus.on('config.changed', (c) =>
        this.hub.publish('events', {
          kind: 'config_changed',
          version: c.version,
          actor: c.actor,
          summary: c.summary,
          at: c.at,
        }),
      ),
    );
    this.disposables.add(
      this.bus.on('engine.changed', (e) => {
        const engine = e.kind === 'put' ? e.spec.name : e.name;
        this.hub.publish(
          'events',
          { kind: e.kind === 'put' ? 'engine_updated' : 'engine_deleted', engine },
          { engine, namespace: e.kind === 'put' ? namespaceOf(e.spec) : undefined },
        );
      }),
    );
    this.disposables.add(
      this.bus.on('rollout.changed', (r) =>
        this.hub.publish('rollouts', { ...r }, { engine: r.engine, namespace: ns(r.engine) }),
      ),
    );
    // Lifecycle events and autoscaling decisions, as the leader recorded them (every replica hears them).
    this.disposables.add(
      this.bus.on('fleet.event', (e) =>
        this.hub.publish('events', { ...e }, { engine: e.engine, namespace: ns(e.engine) }),
      ),
    );
    this.disposables.add(
      this.bus.on('autoscale.decision', (d) =>
        this.hub.publish(
          'events',
          {
            kind: 'autoscale_decision',
            engine: d.engine,
            ...d.decision,
            at: new Date(d.decision.atMs).toISOString(),
          },
          { engine: d.engine, namespace: ns(d.engine) },
        ),
      ),
    );
    this.disposables.add(
      this.bus.on('circuits.changed', (c) => {
        void this.reads.circuits().then((all) => {
          for (const status of all)
            if (c.engines.includes(status.engine))
              this.hub.publish('circuits', circuitsView(status), {
                engine: status.engine,
                namespace: ns(status.engine),
              });
        });
      }),
    );
  }

  stop(): void {
    this.disposables.dispose();
    clearTimeout(this.changedTimer);
    this.changedTimer = undefined;
  }

  private readonly changedEngines = new Set<string>();
  private changedTimer: NodeJS.Timeout | undefined;

  private engineChanged(engine: string): void {
    this.changedEngines.add(engine);
    this.changedTimer ??= setTimeout(() => {
      this.changedTimer = undefined;
      const engines = [...this.changedEngines];
      this.changedEngines.clear();
      void this.publishHealth(engines);
    }, CHANGE_BURST_MS).unref();
  }

  publishMetrics(): void {
    const summary = this.reads.summary();
    this.hub.publish('metrics', { scope: 'fleet', windowMs: summary.windowMs, overall: summary.overall });
    for (const e of summary.engines)
      this.hub.publish(
        'metrics',
        { windowMs: summary.windowMs, ...e },
        { engine: e.name, namespace: e.namespace },
      );
  }

  private readonly alertSeen = new Map<string, string>();

  /** Alerts whose state changed since the last call, one message each (the `alerts` topic). */
  publishAlerts(): void {
    const seen = new Set<string>();
    for (const a of this.alerts()) {
      const key = `${a.id}@${a.startedAt}`;
      seen.add(key);
      const signature = `${a.state}|${a.acknowledgedBy}|${a.notifications.length}`;
      if (this.alertSeen.get(key) === signature) continue;
      this.alertSeen.set(key, signature);
      const spec = a.engine ? this.engines.getNow(a.engine) : undefined;
      this.hub.publish('alerts', a, {
        ...(a.engine && { engine: a.engine }),
        ...(spec && { namespace: namespaceOf(spec) }),
      });
    }
    for (const key of this.alertSeen.keys()) if (!seen.has(key)) this.alertSeen.delete(key);
  }

  /** Health of every engine (and the fleet's), or of `only` these engines. */
  async publishHealth(only?: readonly string[]): Promise<void> {
    if (only) {
      for (const name of only) {
        const spec = this.engines.getNow(name);
        if (!spec) continue;
        const e = (await this.reads.health(name)).engines[0];
        this.hub.publish('health', e, { engine: name, namespace: namespaceOf(spec) });
      }
      return;
    }
    const report = await this.reads.health();
    this.hub.publish('health', {
      scope: 'fleet',
      status: report.status,
      engines: report.engines.length,
      store: report.store,
    });
    for (const e of report.engines) {
      const spec = this.engines.getNow(e.name);
      this.hub.publish('health', e, { engine: e.name, namespace: spec ? namespaceOf(spec) : undefined });
    }
  }
}
