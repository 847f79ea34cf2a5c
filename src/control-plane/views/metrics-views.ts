import { type EngineSpec, namespaceOf } from '../../model/engine';
import { CallAccumulator, type CallStats, NO_CALLS } from '../calls/call-accumulator';
import type { CallWindows } from '../calls/call-windows';
import type { EngineCatalog } from '../config/engine-catalog';

export interface InstanceSummary extends CallStats {
  readonly id: string;
  readonly version: string;
  readonly cpuUtilization?: number;
  readonly memUtilization?: number;
}

export interface EngineSummary extends CallStats {
  readonly name: string;
  readonly namespace: string;
  readonly instances: InstanceSummary[];
  /** Per version: its share of calls (canary and rollout dashboards). */
  readonly versions: (CallStats & { readonly name: string })[];
}

export interface Summary {
  readonly windowMs: number;
  readonly at: string;
  readonly overall: CallStats;
  readonly engines: EngineSummary[];
}

/**
 * Golden signals of the fleet (/metrics/summary): rps, error rate, p50/p95/p99 and calls in
 * flight per instance, version, engine and overall, over the last window of every router's and LRS
 * client's reports, the same on every replica (each hears every report). Percentiles of a group are
 * over its calls' merged histograms, never averages of percentiles.
 */
export class MetricsViews {
  constructor(
    private readonly engines: EngineCatalog,
    private readonly windows: CallWindows | undefined,
  ) {}

  get windowMs(): number {
    return this.windows?.windowMs ?? 0;
  }

  summary(filter?: { engines?: readonly string[] }): Summary {
    const all = new CallAccumulator();
    let allInFlight = 0;
    const keysAll: [string, string][] = [];
    const engines: EngineSummary[] = [];
    for (const spec of this.engines.listNow()) {
      if (filter?.engines && !filter.engines.includes(spec.name)) continue;
      const e = this.engine(spec);
      engines.push(e.summary);
      all.merge(e.calls);
      allInFlight += e.summary.inFlight;
      keysAll.push(...e.keys);
    }
    return {
      windowMs: this.windowMs,
      at: new Date().toISOString(),
      overall: this.windows ? all.stats(this.windows.seconds(keysAll), allInFlight) : NO_CALLS,
      engines,
    };
  }

  private engine(spec: EngineSpec): {
    summary: EngineSummary;
    calls: CallAccumulator;
    keys: [string, string][];
  } {
    const w = this.windows;
    const calls = new CallAccumulator();
    const keys = spec.instances.map((i) => [spec.name, i.id] as [string, string]);
    const byVersion = new Map<
      string,
      { calls: CallAccumulator; inFlight: number; keys: [string, string][] }
    >();
    let inFlight = 0;
    const instances = spec.instances.map((i): InstanceSummary => {
      if (!w) return { id: i.id, version: i.version, ...NO_CALLS };
      const mine = w.calls(spec.name, i.id);
      const flying = w.inFlight(spec.name, i.id);
      calls.merge(mine);
      inFlight += flying;
      let v = byVersion.get(i.version);
      if (!v) byVersion.set(i.version, (v = { calls: new CallAccumulator(), inFlight: 0, keys: [] }));
      v.calls.merge(mine);
      v.inFlight += flying;
      v.keys.push([spec.name, i.id]);
      const r = w.resources(spec.name, i.id);
      return {
        id: i.id,
        version: i.version,
        ...mine.stats(w.seconds([[spec.name, i.id]]), flying),
        ...(r ? { cpuUtilization: r.cpuUtilization, memUtilization: r.memUtilization } : {}),
      };
    });
    const seconds = w ? w.seconds(keys) : 1;
    return {
      summary: {
        name: spec.name,
        namespace: namespaceOf(spec),
        ...calls.stats(seconds, inFlight),
        instances,
        versions: spec.versions.map((v) => {
          const got = byVersion.get(v.name);
          return {
            name: v.name,
            ...(got && w ? got.calls.stats(w.seconds(got.keys), got.inFlight) : NO_CALLS),
          };
        }),
      },
      calls,
      keys,
    };
  }

  /** /metrics: the summary plus errors by gRPC code per engine and instance. */
  detail(): Summary & { errorsByCode: Record<string, Record<string, number>> } {
    const errorsByCode: Record<string, Record<string, number>> = {};
    if (this.windows)
      for (const spec of this.engines.listNow())
        for (const i of spec.instances) {
          const calls = this.windows.calls(spec.name, i.id);
          if (calls.byCode.size > 0) errorsByCode[`${spec.name}/${i.id}`] = Object.fromEntries(calls.byCode);
        }
    return { ...this.summary(), errorsByCode };
  }
}
