import type { EngineSpec, HealthState } from '../../model/engine';
import { decideScale, EMPTY_MEMORY, type ScaleDecision, type ScaleMemory } from '../../model/fleet/autoscale';
import { desiredReplicas } from '../../model/runtime';
import { updateEngine } from '../config/engine-catalog';
import type { EventBus } from '../kernel/events';
import { Disposables, type Module } from '../kernel/module';
import type { FleetContext } from './fleet-context';
import { EnginePeriods } from './engine-periods';
import { SharedNamespace } from '../../store/shared-namespace';

/** Shared namespace of autoscaling: field = engine, value = its recent decisions and stabilisation memory. */
export const AUTOSCALE_NS = new SharedNamespace<AutoscaleState>(
  'autoscale',
  'the leader (autoscaler), fenced',
);
/**
 * A manual scale forced over the autoscaler (`?force=true`): field engine → {untilMs, replicas, by}.
 * The autoscaler leaves the engine alone until then (its scale-down cooldown), as an HPA's owner would
 * have to pause it.
 */
export const AUTOSCALE_PINS_NS = new SharedNamespace<AutoscalePin>(
  'autoscale-pins',
  'the replica that took a forced scale',
);

export interface AutoscalePin {
  readonly untilMs: number;
  readonly replicas: number;
  readonly by: string;
}
const KEEP = 50;
const TICK_MS = 100;

export interface AutoscaleState {
  readonly decisions: readonly ScaleDecision[];
  readonly memory: ScaleMemory;
}

/** What the autoscaler reads of an engine now. */
export interface EngineLoad {
  readonly inFlight: number;
  readonly p95Ms?: number;
  /** Calls over the summary window. */
  readonly requests?: number;
}

/**
 * The HPA loop on the leader: every engine whose runtime has an `autoscale` policy is evaluated every
 * `syncMs` (`model/fleet/autoscale.ts` decides); a change of size is a versioned write of
 * `runtime.replicas` by `autoscaler` (fenced), which the process driver then carries out. Every
 * decision, changed or not, is kept with its inputs and reason (shared, so a new leader keeps the
 * stabilisation memory) and every replica publishes the new ones as `autoscale.decision`.
 */
export class Autoscaler implements Module {
  readonly name = 'autoscaler';
  private readonly disposables = new Disposables();
  private readonly seen = new Map<string, number>();
  /** Engines being started from zero now (a report every 50 ms must not write twice). */
  private readonly starting = new Set<string>();

  constructor(
    private readonly ctx: FleetContext,
    private readonly bus: EventBus,
    private readonly load: (engine: string) => EngineLoad,
    private readonly health: (engine: string, instance: string) => HealthState,
  ) {}

  start(): void {
    for (const [engine, value] of AUTOSCALE_NS.map(this.ctx.store)) {
      const last = value.decisions.at(-1);
      if (last) this.seen.set(engine, last.atMs);
    }
    this.disposables.add(
      this.ctx.store.watchShared((c) => {
        const state = AUTOSCALE_NS.changed(c)?.value;
        if (!state) return;
        const since = this.seen.get(c.field) ?? 0;
        for (const d of state.decisions)
          if (d.atMs > since) {
            this.seen.set(c.field, d.atMs);
            this.bus.emit('autoscale.decision', { engine: c.field, decision: d });
          }
      }),
    );
    this.disposables.add(
      this.bus.on('report.received', (r) => {
        for (const [engine, held] of Object.entries(r.heldCalls ?? {}))
          if (held > 0) void this.startFromZero(engine, held, r.nodeId);
      }),
    );
    const periods = new EnginePeriods(
      this.ctx,
      'autoscaling',
      (spec) => (spec.runtime?.driver === 'process' ? spec.runtime.autoscale?.syncMs : undefined),
      (spec, fence, now) => this.evaluate(spec, fence, now),
    );
    const timer = setInterval(() => void periods.pass(), TICK_MS);
    timer.unref();
    this.disposables.add(() => clearInterval(timer));
  }

  stop(): void {
    this.disposables.dispose();
  }

  state(engine: string): AutoscaleState | undefined {
    return AUTOSCALE_NS.get(this.ctx.store, engine);
  }

  /**
   * A router holds calls for an engine scaled to zero: the leader sets it to one replica at once (the
   * process driver starts it; routers send the held calls when it serves), and restarts the idle clock
   * so the next evaluation does not scale it straight back down.
   */
  private async startFromZero(engine: string, held: number, nodeId: string): Promise<void> {
    const fence = this.ctx.leader.fence;
    const spec = this.ctx.engines.getNow(engine);
    const rt = spec?.runtime;
    if (!fence || !rt?.autoscale?.scaleToZero || rt.driver !== 'process' || desiredReplicas(rt) > 0) return;
    if (this.starting.has(engine)) return;
    this.starting.add(engine);
    try {
      const now = Date.now();
      const prev = this.state(engine);
      const decision: ScaleDecision = {
        atMs: now,
        current: 0,
        desired: 1,
        recommended: 1,
        metric: rt.autoscale.targetInFlight !== undefined ? 'inFlight' : 'p95Ms',
        value: held,
        target: (rt.autoscale.targetInFlight ?? rt.autoscale.targetP95Ms)!,
        ratio: null,
        reason: `${held} calls held by router ${nodeId} while scaled to zero: starting an instance`,
        dryRun: false,
      };
      // The idle clock restarts before the spec changes: an evaluation in between must not find the
      // engine at one replica and idle since long ago, and scale it straight back to zero.
      const memory = { ...(prev?.memory ?? EMPTY_MEMORY), busyAtMs: now };
      const state: AutoscaleState = {
        decisions: [...(prev?.decisions ?? []), decision].slice(-KEEP),
        memory,
      };
      await AUTOSCALE_NS.put(this.ctx.store, [[engine, state]], fence);
      await updateEngine(
        this.ctx.engines,
        engine,
        { actor: 'autoscaler', summary: `scale ${engine} 0 → 1: ${decision.reason}`, fence },
        (current) =>
          current?.runtime && desiredReplicas(current.runtime) === 0
            ? { ...current, runtime: { ...current.runtime, replicas: 1 } }
            : undefined,
      );
      this.ctx.events.record('scaled', engine, `started from zero: ${decision.reason}`, undefined, {
        from: 0,
        to: 1,
        by: 'autoscaler',
      });
    } catch (err) {
      this.ctx.logger.warn('could not start an engine scaled to zero', { engine, error: String(err) });
    } finally {
      this.starting.delete(engine);
    }
  }

  private async evaluate(spec: EngineSpec, fence: string, now: number): Promise<void> {
    const pin = AUTOSCALE_PINS_NS.get(this.ctx.store, spec.name);
    if (pin && pin.untilMs > now) return; // an operator's forced scale holds until then
    const rt = spec.runtime!;
    const policy = rt.autoscale!;
    const load = this.load(spec.name);
    const ready = spec.instances.filter(
      (i) => !i.draining && this.health(spec.name, i.id) === 'healthy',
    ).length;
    const prev = this.state(spec.name);
    const { decision, memory } = decideScale(
      policy,
      {
        current: desiredReplicas(rt),
        ready,
        inFlight: load.inFlight,
        p95Ms: load.p95Ms,
        requests: load.requests,
        minReplicas: rt.minReplicas,
        maxReplicas: rt.maxReplicas,
      },
      prev?.memory ?? EMPTY_MEMORY,
      now,
    );
    const state: AutoscaleState = { decisions: [...(prev?.decisions ?? []), decision].slice(-KEEP), memory };
    await AUTOSCALE_NS.put(this.ctx.store, [[spec.name, state]], fence);
    if (decision.desired === decision.current) return;
    if (decision.dryRun) {
      this.ctx.events.record(
        'autoscale',
        spec.name,
        `dry run: would scale ${decision.current} → ${decision.desired}: ${decision.reason}`,
      );
      return;
    }
    await updateEngine(
      this.ctx.engines,
      spec.name,
      {
        actor: 'autoscaler',
        summary: `scale ${spec.name} ${decision.current} → ${decision.desired}: ${decision.reason}`,
        fence,
      },
      (current) =>
        current?.runtime && desiredReplicas(current.runtime) === decision.current
          ? { ...current, runtime: { ...current.runtime, replicas: decision.desired } }
          : undefined,
    );
    this.ctx.events.record(
      'scaled',
      spec.name,
      `autoscaled ${decision.current} → ${decision.desired}: ${decision.reason}`,
      undefined,
      {
        from: decision.current,
        to: decision.desired,
        by: 'autoscaler',
      },
    );
  }
}
