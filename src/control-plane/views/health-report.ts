import type { EngineSpec, HealthState } from '../../model/engine';
import type { CheckState } from '../../model/health';
import { explainInstance, type HeldStatus, type InstanceFacts, rollup } from '../../model/health-rollup';
import type { CallStats } from '../calls/call-accumulator';
import type { InstanceResources } from '../calls/call-windows';
import type { EngineHealthView, HealthReport, OverallStatus } from './engine-views';

/** The rules, as /health states them: a reader should not have to guess how a status came about. */
export const HEALTH_RULES = {
  instance:
    'draining when drained; unhealthy when its probe fails past the unhealthy threshold, its circuit is open on most routers or its lease lapsed; unknown before its first probe; otherwise healthy. Ejection by a router is a reason shown, not a status.',
  engine:
    'healthy when every instance in rotation (not draining) is healthy, unhealthy when none is, degraded between; a worse status shows at once, a better one once it has held for the hold time (hysteresis).',
  system:
    'healthy when every engine is healthy, unhealthy when none can serve, degraded between; an unreachable configuration store degrades it.',
};

export function effectiveHealth(draining: boolean, check: CheckState): HealthState {
  return draining ? 'draining' : check.status;
}

/** What is known of one instance beyond its spec: the facts its status follows from, and its figures. */
export interface InstanceInsight {
  readonly facts: InstanceFacts;
  readonly calls?: CallStats;
  readonly resources?: InstanceResources;
}

/**
 * An engine's health with each instance's status and why. `hold` applies the engine's hysteresis to its
 * raw status (none: the raw status is reported).
 */
export function engineHealth(
  spec: EngineSpec,
  insight: (id: string) => InstanceInsight,
  hold?: (engine: string, raw: OverallStatus) => HeldStatus,
): EngineHealthView {
  const instances = spec.instances.map((i) => {
    const { facts, calls, resources } = insight(i.id);
    const c = facts.check;
    const { status, reasons } = explainInstance(facts);
    return {
      id: i.id,
      address: i.address,
      version: i.version,
      health: status,
      reasons,
      consecutiveFailures: c.consecutiveFailures,
      lastError: c.lastError,
      lastCheckMs: c.lastCheckMs,
      lastCheckAt: c.lastCheckMs > 0 ? new Date(c.lastCheckMs).toISOString() : null,
      lastCheckLatencyMs: Math.round(c.lastLatencyMs * 1000) / 1000,
      ...(calls ? { calls } : {}),
      ...(resources
        ? {
            cpuUtilization: resources.cpuUtilization,
            memUtilization: resources.memUtilization,
            resourcesAt: new Date(resources.atMs).toISOString(),
          }
        : {}),
    };
  });
  const raw = rollup(instances.map((i) => i.health));
  const held = hold?.(spec.name, raw);
  const healthy = instances.filter((i) => i.health === 'healthy').length;
  return {
    name: spec.name,
    status: held?.status ?? raw,
    rawStatus: raw,
    ...(held ? { statusSince: new Date(held.sinceMs).toISOString() } : {}),
    healthyInstances: healthy,
    totalInstances: instances.length,
    instances,
  };
}

/** The system is healthy when every engine is, unhealthy when no engine can serve, degraded between. */
export function systemHealth(engines: readonly EngineHealthView[]): HealthReport {
  const unhealthy = engines.filter((e) => e.status === 'unhealthy').length;
  const healthy = engines.filter((e) => e.status === 'healthy').length;
  const status: OverallStatus =
    healthy === engines.length ? 'healthy' : unhealthy === engines.length ? 'unhealthy' : 'degraded';
  return { status, engines };
}
