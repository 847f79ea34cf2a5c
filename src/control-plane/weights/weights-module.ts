import type { ConfigStore } from '../../store/config-store';
import { type InstanceWeight, moved, nextWeights, type WeightInputs } from '../../model/adaptive-weights';
import type { EngineSpec } from '../../model/engine';
import type { EventBus } from '../kernel/events';
import type { FleetContext } from '../fleet/fleet-context';
import { EnginePeriods } from '../fleet/engine-periods';
import type { CallWindows } from '../calls/call-windows';
import { CallTally } from '../calls/call-tally';
import { Disposables, type Module } from '../kernel/module';
import { SharedNamespace } from '../../store/shared-namespace';

/** Shared namespace of closed-loop weights: field = engine. */
export const WEIGHTS_NS = new SharedNamespace<EngineWeights>(
  'weights',
  'the leader (closed-loop weights), fenced',
);

/**
 * The engine with the weights to serve: configured weights when closed-loop weights are off, the
 * published (or pinned) ones otherwise, as the leader shared them.
 */
export function servedWeights(store: ConfigStore, spec: EngineSpec): EngineSpec {
  const policy = spec.adaptiveWeights;
  if (!policy?.enabled) return spec;
  const published = WEIGHTS_NS.get(store, spec.name)?.published ?? {};
  return {
    ...spec,
    instances: spec.instances.map((i) => {
      const w = policy.pinned[i.id] ?? published[i.id];
      return w === undefined || w === i.weight ? i : { ...i, weight: w };
    }),
  };
}
const TICK_MS = 100;

/** An engine's weights as computed and as published (what routers and proxyless clients are sent). */
export interface EngineWeights {
  readonly engine: string;
  readonly at: string;
  readonly intervalMs: number;
  readonly instances: readonly InstanceWeight[];
  /** Instance id → weight in the served snapshot (moves only past the deadband). */
  readonly published: Readonly<Record<string, number>>;
  readonly publishedAt: string;
}

/**
 * Closed-loop weights on the leader: every engine with `adaptiveWeights` is measured each interval from
 * every router's and LRS client's reports (calls, errors, median latency; in flight and ORCA utilisation
 * from the call windows) and its instances' weights computed by `model/adaptive-weights.ts`. The result
 * is shared (a new leader continues from it); when a weight moved past the deadband, every replica
 * rebuilds its snapshot, which carries the weights to routers and, as EDS locality weights, to proxyless
 * clients.
 */
export class WeightsModule implements Module {
  readonly name = 'weights';
  private readonly disposables = new Disposables();
  private readonly tally = new CallTally((load) => `${load.engine}/${load.instanceId}`);
  private readonly publishedJson = new Map<string, string>();

  constructor(
    private readonly ctx: FleetContext,
    private readonly bus: EventBus,
    private readonly windows: CallWindows,
  ) {}

  start(): void {
    this.disposables.add(this.bus.on('report.received', (r) => this.tally.record(r)));
    this.disposables.add(
      this.ctx.store.watchShared((c) => {
        const changed = WEIGHTS_NS.changed(c);
        if (!changed) return;
        const json = changed.value ? JSON.stringify(changed.value.published) : '';
        if (this.publishedJson.get(c.field) === json) return;
        this.publishedJson.set(c.field, json);
        this.bus.emit('weights.changed', { engine: c.field });
      }),
    );
    const periods = new EnginePeriods(
      this.ctx,
      'closed-loop weights',
      (spec) => (spec.adaptiveWeights?.enabled ? spec.adaptiveWeights.intervalMs : undefined),
      (spec, fence, now) => this.compute(spec, fence, now),
      async (spec, fence) => {
        if (this.weights(spec.name)) await WEIGHTS_NS.put(this.ctx.store, [[spec.name, undefined]], fence);
      },
      // The first interval measures from now.
      (spec) => this.tally.reset(`${spec.name}/`),
    );
    const timer = setInterval(() => void periods.pass(), TICK_MS);
    timer.unref();
    this.disposables.add(() => clearInterval(timer));
  }

  stop(): void {
    this.disposables.dispose();
  }

  weights(engine: string): EngineWeights | undefined {
    return WEIGHTS_NS.get(this.ctx.store, engine);
  }

  /**
   * The engine with the weights to serve: configured weights when closed-loop weights are off, computed
   * ones (pinned ones as pinned) when on.
   */
  effective(spec: EngineSpec): EngineSpec {
    return servedWeights(this.ctx.store, spec);
  }

  private async compute(spec: EngineSpec, fence: string, now: number): Promise<void> {
    const policy = spec.adaptiveWeights!;
    const prev = this.weights(spec.name);
    const previous = new Map((prev?.instances ?? []).map((w) => [w.id, w]));
    const instances = spec.instances.map((i) => {
      const calls = this.tally.take(`${spec.name}/${i.id}`);
      const orca = this.windows.resources(spec.name, i.id);
      const inputs: WeightInputs = {
        requests: calls.requests,
        errorRate: calls.requests > 0 ? Math.round((calls.errors / calls.requests) * 1e4) / 1e4 : 0,
        p50Ms: calls.requests > 0 ? calls.quantile(0.5) : 0,
        p99Ms: calls.requests > 0 ? calls.quantile(0.99) : 0,
        inFlight: this.windows.inFlight(spec.name, i.id),
        // gRFC A58: the engine's own utilisation when it reports one (fresh), CPU otherwise.
        ...(orca &&
          now - orca.atMs < 3 * policy.intervalMs && {
            utilization: orca.utilization.application ?? orca.cpuUtilization,
          }),
      };
      return { id: i.id, configured: i.weight, inputs };
    });
    const next = nextWeights(policy, instances, previous, now);
    const publishedBefore = new Map(
      Object.entries(prev?.published ?? {}).map(([id, weight]) => [id, { weight } as InstanceWeight]),
    );
    const push = moved(publishedBefore, next);
    const state: EngineWeights = {
      engine: spec.name,
      at: new Date(now).toISOString(),
      intervalMs: policy.intervalMs,
      instances: next,
      published: push ? Object.fromEntries(next.map((w) => [w.id, w.weight])) : (prev?.published ?? {}),
      publishedAt: push ? new Date(now).toISOString() : (prev?.publishedAt ?? new Date(now).toISOString()),
    };
    await WEIGHTS_NS.put(
      this.ctx.store,
      [[spec.name, JSON.parse(JSON.stringify(state)) as EngineWeights]],
      fence,
    );
  }
}
