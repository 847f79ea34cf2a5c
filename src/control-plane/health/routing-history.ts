import { CircuitState } from '../../../gen/nerve/discovery/v1/resources';
import type { EngineSpec } from '../../model/engine';
import type { EngineCatalog } from '../config/engine-catalog';
import type { EventBus, ReportReceived } from '../kernel/events';
import type { LeaderElection } from '../leader/leader-election';
import { Disposables, type Module } from '../kernel/module';
import type { HealthTransition } from './health-history';

type Note = (engine: string, transition: HealthTransition) => void;

const CIRCUIT_NAMES: Record<number, string> = {
  [CircuitState.CIRCUIT_STATE_OPEN]: 'open',
  [CircuitState.CIRCUIT_STATE_HALF_OPEN]: 'half_open',
};

/**
 * Puts every change of an instance's routing status beside its probe transitions in the engine's
 * health history, with its reason and who made it: a drain or an undrain (by the actor of the
 * configuration change), a lease that lapsed or came back, a fleet-wide circuit that opened or closed,
 * a router's outlier ejection and its end.
 * An operator reading `GET /health/:engine?since=1h`, Admin/GetHealth or the dashboard's instance
 * history so sees everything that took an instance out of rotation or put it back. The leader records.
 */
export class RoutingHistory implements Module {
  readonly name = 'routing-history';
  private readonly disposables = new Disposables();
  /** Per engine: which instances were draining, as of the last change seen. */
  private readonly draining = new Map<string, Map<string, boolean>>();
  /** Per engine: each instance's fleet-wide circuit, as of the last publication seen. */
  private readonly circuits = new Map<string, Map<string, string>>();
  /** Per engine: `instance node` pairs a router last reported as ejected (outlier detection). */
  private readonly ejected = new Map<string, Set<string>>();
  private lastActor = 'unknown';

  constructor(
    private readonly bus: EventBus,
    private readonly engines: EngineCatalog,
    private readonly leader: LeaderElection,
    private readonly circuitsOf: (engine: string) => readonly { instanceId: string; state: CircuitState }[],
    private readonly note: Note,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    for (const spec of this.engines.listNow()) this.draining.set(spec.name, drains(spec));
    this.disposables.add(this.bus.on('config.changed', (c) => (this.lastActor = c.actor)));
    this.disposables.add(
      this.bus.on('engine.changed', (e) => {
        if (e.kind === 'delete') {
          this.draining.delete(e.name);
          this.circuits.delete(e.name);
          this.ejected.delete(e.name);
          return;
        }
        this.onSpec(e.spec);
      }),
    );
    this.disposables.add(
      this.bus.on('fleet.event', (e) => {
        if (!e.instance) return;
        if (e.kind === 'lease_lapsed')
          this.record(e.engine, e.instance, 'leased', 'lease_lapsed', e.message, 'lease', 'leases');
        else if (e.kind === 'registered' && /again/.test(e.message))
          this.record(e.engine, e.instance, 'lease_lapsed', 'leased', e.message, 'lease', 'leases');
      }),
    );
    this.disposables.add(this.bus.on('report.received', (r) => this.onReport(r)));
    this.disposables.add(
      this.bus.on('circuits.changed', (c) => {
        for (const engine of c.engines) this.onCircuits(engine);
      }),
    );
  }

  stop(): void {
    this.disposables.dispose();
  }

  private onSpec(spec: EngineSpec): void {
    const before = this.draining.get(spec.name);
    const after = drains(spec);
    this.draining.set(spec.name, after);
    if (!before) return;
    for (const [instance, draining] of after) {
      const was = before.get(instance);
      if (was === undefined || was === draining) continue;
      const actor = this.lastActor;
      this.record(
        spec.name,
        instance,
        draining ? 'serving' : 'draining',
        draining ? 'draining' : 'serving',
        draining ? `drained by ${actor}: no new calls` : `undrained by ${actor}: back in rotation`,
        'drain',
        actor,
      );
    }
  }

  /**
   * Ejection is each router's own (outlier detection over the calls it made), so each router's ejection
   * and return is its own record, the router as its actor. Reports repeat the state every interval: only
   * a change is recorded.
   */
  private onReport(r: ReportReceived): void {
    if (r.source !== 'router') return;
    for (const load of r.loads) {
      let set = this.ejected.get(load.engine);
      const key = `${load.instanceId} ${r.nodeId}`;
      if (load.ejected === (set?.has(key) ?? false)) continue;
      if (!set) this.ejected.set(load.engine, (set = new Set()));
      if (load.ejected) set.add(key);
      else set.delete(key);
      this.record(
        load.engine,
        load.instanceId,
        load.ejected ? 'in_rotation' : 'ejected',
        load.ejected ? 'ejected' : 'in_rotation',
        load.ejected
          ? `ejected by router ${r.nodeId}: outlier detection (consecutive errors or a low success rate)`
          : `router ${r.nodeId} ended its ejection: back in its rotation`,
        'ejection',
        r.nodeId,
      );
    }
  }

  private onCircuits(engine: string): void {
    const before = this.circuits.get(engine) ?? new Map<string, string>();
    const after = new Map<string, string>();
    for (const c of this.circuitsOf(engine)) {
      const state = CIRCUIT_NAMES[c.state];
      if (state && c.instanceId) after.set(c.instanceId, state);
    }
    this.circuits.set(engine, after);
    for (const instance of new Set([...before.keys(), ...after.keys()])) {
      const from = before.get(instance) ?? 'closed';
      const to = after.get(instance) ?? 'closed';
      if (from === to) continue;
      const reason =
        to === 'closed'
          ? 'fleet-wide circuit closed: back in rotation'
          : `fleet-wide circuit ${to === 'open' ? 'opened' : 'half open'}: most routers that serve the engine saw it failing`;
      this.record(engine, instance, `circuit_${from}`, `circuit_${to}`, reason, 'circuit', 'routers');
    }
  }

  private record(
    engine: string,
    instance: string,
    from: string,
    to: string,
    reason: string,
    kind: HealthTransition['kind'],
    actor: string,
  ): void {
    if (!this.leader.leading) return;
    const atMs = this.now();
    this.note(engine, { at: new Date(atMs).toISOString(), atMs, instance, from, to, reason, kind, actor });
  }
}

function drains(spec: EngineSpec): Map<string, boolean> {
  return new Map(spec.instances.map((i) => [i.id, i.draining]));
}
