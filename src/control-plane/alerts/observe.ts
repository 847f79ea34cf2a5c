import { CircuitState } from '../../../gen/nerve/discovery/v1/resources';
import type { Observation } from '../../model/alerts/alert';
import { type AlertRule, compare, type RuleMetric } from '../../model/alerts/rule';
import type { StoreStatus } from '../../store/config-store';
import type { EngineSummary } from '../views/metrics-views';
import type { EngineHealthView, InstanceHealthView } from '../views/engine-views';
import type { EngineCircuitStatus } from '../circuits/circuit-board';
import type { CallStats } from '../calls/call-accumulator';

/** What one evaluation sees of the fleet. */
export interface FleetView {
  readonly overall: CallStats;
  readonly summaries: ReadonlyMap<string, EngineSummary>;
  readonly health: ReadonlyMap<string, EngineHealthView>;
  readonly circuits: ReadonlyMap<string, EngineCircuitStatus>;
  readonly store: StoreStatus;
  /** One-shot events since the last evaluation. */
  readonly events: readonly {
    readonly event: 'config_changed' | 'xds_nack' | 'crash_loop' | 'lease_lapsed' | 'rollout_rolled_back';
    readonly summary: string;
    readonly engine?: string;
    readonly instance?: string;
  }[];
}

/** Latency figures mean nothing without calls: their conditions hold only with some. */
const LATENCY: ReadonlySet<RuleMetric> = new Set(['p50Ms', 'p95Ms', 'p99Ms']);

function figure(
  metric: RuleMetric,
  stats: CallStats,
  health: EngineHealthView | undefined,
  s?: EngineSummary,
): number | undefined {
  switch (metric) {
    case 'healthyInstances':
      return health?.healthyInstances;
    case 'healthyShare':
      return health && health.totalInstances > 0
        ? health.healthyInstances / health.totalInstances
        : undefined;
    case 'cpu':
    case 'memory': {
      const values = (s?.instances ?? [])
        .map((i) => (metric === 'cpu' ? i.cpuUtilization : i.memUtilization))
        .filter((v): v is number => v !== undefined);
      return values.length ? values.reduce((a, b) => a + b, 0) / values.length : undefined;
    }
    default:
      if (LATENCY.has(metric) && stats.requests === 0) return undefined;
      return stats[metric];
  }
}

/** The subjects a rule watches and whether its condition or event holds for each. */
export function observe(rule: AlertRule, view: FleetView): Observation[] {
  const engines = [...view.health.keys()].filter((e) => !rule.engine || e === rule.engine);
  const fleet = rule.scope === 'fleet';
  const at = (
    engine: string | null,
    instance: string | null,
    active: boolean,
    value: number,
    summary: string,
  ) => ({
    engine,
    instance,
    active,
    value,
    summary,
  });
  const c = rule.condition;
  if (c) {
    const check = (engine: string | null, v: number | undefined) => {
      const active = v !== undefined && compare(v, c.op, c.threshold);
      const where = engine ?? 'the fleet';
      return at(
        engine,
        null,
        active,
        v ?? 0,
        `${c.metric} of ${where} is ${round(v)} (${c.op} ${c.threshold})`,
      );
    };
    if (fleet) {
      const health = [...view.health.values()];
      const total = health.reduce((n, h) => n + h.totalInstances, 0);
      const healthy = health.reduce((n, h) => n + h.healthyInstances, 0);
      const v =
        c.metric === 'healthyInstances'
          ? healthy
          : c.metric === 'healthyShare'
            ? total
              ? healthy / total
              : undefined
            : figure(c.metric, view.overall, undefined);
      return [check(null, v)];
    }
    return engines.map((e) => {
      const s = view.summaries.get(e);
      return check(e, s ? figure(c.metric, s, view.health.get(e), s) : undefined);
    });
  }
  const out: Observation[] = [];
  switch (rule.event) {
    case 'instance_down':
      for (const e of engines)
        for (const i of view.health.get(e)?.instances ?? [])
          out.push(
            at(
              fleet ? null : e,
              i.id,
              isDown(i),
              1,
              `${e}/${i.id} is down: ${i.reasons.map((r) => r.message).join('; ') || 'unhealthy'}`,
            ),
          );
      break;
    case 'engine_unavailable':
      for (const e of engines) {
        const h = view.health.get(e)!;
        out.push(
          at(
            e,
            null,
            h.totalInstances > 0 && h.healthyInstances === 0,
            0,
            `${e} has no healthy instance (${h.totalInstances} configured)`,
          ),
        );
      }
      break;
    case 'circuit_open':
      for (const e of engines) {
        const c2 = view.circuits.get(e);
        if (!c2) continue;
        out.push(
          at(
            e,
            null,
            c2.engineCircuit.state === CircuitState.CIRCUIT_STATE_OPEN,
            c2.engineCircuit.openOn,
            `the circuit of ${e} is open on ${c2.engineCircuit.openOn} of ${c2.engineCircuit.reporters} routers`,
          ),
        );
        for (const i of c2.instances)
          out.push(
            at(
              e,
              i.instanceId,
              i.state === CircuitState.CIRCUIT_STATE_OPEN,
              i.openOn,
              `the circuit of ${e}/${i.instanceId} is open on ${i.openOn} of ${i.reporters} routers`,
            ),
          );
      }
      break;
    case 'store_unavailable':
      out.push(
        at(
          null,
          null,
          view.store.state !== 'ok',
          0,
          `configuration store unavailable: ${view.store.reason ?? ''}`,
        ),
      );
      break;
    case 'config_changed':
    case 'xds_nack': {
      const seen = view.events.filter((e) => e.event === rule.event);
      out.push(at(null, null, seen.length > 0, seen.length, seen.map((e) => e.summary).join('; ')));
      break;
    }
    case 'crash_loop':
    case 'lease_lapsed':
    case 'rollout_rolled_back': {
      // One alert per instance it happened to.
      const byInstance = new Map<string, typeof view.events>();
      for (const e of view.events)
        if (e.event === rule.event) {
          const k = `${e.engine ?? ''}/${e.instance ?? ''}`;
          byInstance.set(k, [...(byInstance.get(k) ?? []), e]);
        }
      for (const list of byInstance.values())
        out.push(
          at(
            list[0].engine ?? null,
            list[0].instance ?? null,
            true,
            list.length,
            list.map((e) => e.summary).join('; '),
          ),
        );
      break;
    }
    default:
      break;
  }
  return out;
}

function round(v: number | undefined): string {
  return v === undefined ? 'unknown' : String(Math.round(v * 1000) / 1000);
}

/**
 * An instance is down when it is unhealthy, or drained while its probe still fails (or its lease lapsed,
 * or its circuit is open): a drain takes it out of rotation, not out of trouble, so an alert's own drain
 * does not resolve the alert that took it (and undo it, and fire again).
 */
function isDown(i: InstanceHealthView): boolean {
  if (i.health === 'unhealthy') return true;
  return (
    i.health === 'draining' &&
    i.reasons.some(
      (r) => r.code === 'probe_failing' || r.code === 'lease_lapsed' || r.code === 'circuit_open',
    )
  );
}
