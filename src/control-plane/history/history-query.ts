import type { EngineSpec } from '../../model/engine';
import { echo } from '../../model/echo';
import {
  COARSE,
  downsample,
  FINE,
  HISTORY_METRICS,
  type HistoryMetric,
  type HistoryPoint,
  type Resolution,
} from '../../model/history/series-ring';
import type { HistoryStore } from '../../store/history-store';
import { NerveError } from '../../model/errors';

export interface HistoryQuery {
  readonly engine?: string;
  readonly instance?: string;
  readonly metrics?: readonly string[];
  readonly fromMs?: number;
  readonly toMs?: number;
  readonly stepMs?: number;
}

export interface HistorySeries {
  readonly engine: string;
  readonly instance: string | null;
  readonly metric: HistoryMetric;
  /** [unix ms, value]; ticks without a measurement are left out. */
  readonly points: [number, number][];
}

export interface HistoryAnswer {
  readonly from: string;
  readonly to: string;
  readonly stepMs: number;
  /** The resolution read: 10 s within the last hour, 1 min beyond it or for steps of a minute or more. */
  readonly resolution: string;
  readonly series: HistorySeries[];
}

const HOUR_MS = 3_600_000;

/**
 * GET /metrics/history. With only `engine`: every metric of the engine and its instances
 * over the last hour; without `engine`: every engine. A step above the resolution's merges its points
 * (percentiles by maximum, the rest by mean).
 */
export async function queryHistory(
  store: HistoryStore,
  engines: readonly EngineSpec[],
  q: HistoryQuery,
  now: number,
): Promise<HistoryAnswer> {
  const metrics = (q.metrics?.length ? q.metrics : HISTORY_METRICS) as HistoryMetric[];
  for (const m of metrics)
    if (!HISTORY_METRICS.includes(m))
      throw new NerveError(
        'INVALID_ARGUMENT',
        `unknown metric ${echo(m, 64)}; known: ${HISTORY_METRICS.join(', ')}`,
      );
  const toMs = Math.min(q.toMs ?? now, now);
  const fromMs = q.fromMs ?? toMs - HOUR_MS;
  if (fromMs > toMs) throw new NerveError('INVALID_ARGUMENT', 'from must not be after to');
  if (q.instance && !q.engine) throw new NerveError('INVALID_ARGUMENT', 'instance needs engine');
  const resolution: Resolution =
    fromMs >= now - FINE.stepMs * FINE.slots && (q.stepMs ?? 0) < COARSE.stepMs ? FINE : COARSE;
  const stepMs = Math.max(
    resolution.stepMs,
    Math.round((q.stepMs ?? resolution.stepMs) / resolution.stepMs) * resolution.stepMs,
  );

  const entities: { engine: string; instance: string | null }[] = [];
  if (q.engine) {
    const spec = engines.find((e) => e.name === q.engine);
    if (!spec) throw new NerveError('NOT_FOUND', `engine ${echo(q.engine)} not found`);
    if (q.instance) {
      if (!spec.instances.some((i) => i.id === q.instance))
        throw new NerveError('NOT_FOUND', `engine ${echo(q.engine)} has no instance ${echo(q.instance)}`);
      entities.push({ engine: spec.name, instance: q.instance });
    } else {
      entities.push({ engine: spec.name, instance: null });
      for (const i of spec.instances) entities.push({ engine: spec.name, instance: i.id });
    }
  } else for (const spec of engines) entities.push({ engine: spec.name, instance: null });

  // A point at tick t covers [t·step, (t+1)·step) and is shown at its end.
  const fromTick = Math.floor(fromMs / resolution.stepMs);
  const toTick = Math.floor(toMs / resolution.stepMs) - 1;
  const series: HistorySeries[] = [];
  for (const e of entities) {
    const entity = e.instance ? `${e.engine}/${e.instance}` : e.engine;
    const points = regroup(await store.read(resolution, entity, fromTick, toTick), resolution, stepMs);
    for (const metric of metrics) {
      const m = HISTORY_METRICS.indexOf(metric);
      const out: [number, number][] = [];
      for (const p of points) {
        const v = p.values[m];
        if (!Number.isNaN(v)) out.push([p.endMs, Math.round(v * 1e4) / 1e4]);
      }
      series.push({ engine: e.engine, instance: e.instance, metric, points: out });
    }
  }
  return {
    from: new Date(fromMs).toISOString(),
    to: new Date(toMs).toISOString(),
    stepMs,
    resolution: resolution.name,
    series,
  };
}

/** Points merged into steps of `stepMs` (a multiple of the resolution's step), each shown at its end. */
function regroup(
  points: readonly HistoryPoint[],
  resolution: Resolution,
  stepMs: number,
): { endMs: number; values: ArrayLike<number> }[] {
  if (stepMs === resolution.stepMs)
    return points.map((p) => ({ endMs: (p.tick + 1) * resolution.stepMs, values: p.values }));
  const groups = new Map<number, HistoryPoint[]>();
  for (const p of points) {
    const group = Math.floor((p.tick * resolution.stepMs) / stepMs);
    const list = groups.get(group) ?? [];
    list.push(p);
    groups.set(group, list);
  }
  return [...groups].map(([group, list]) => ({ endMs: (group + 1) * stepMs, values: downsample(list) }));
}
