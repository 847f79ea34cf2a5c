import type { EngineSpec, HealthState } from '../../model/engine';
import type { CheckState } from '../../model/health';
import type { EngineHealthView, HealthReport, OverallStatus } from './views';

export function effectiveHealth(draining: boolean, check: CheckState): HealthState {
  return draining ? 'draining' : check.status;
}

/**
 * An engine is healthy when every instance in rotation is healthy, degraded when some are, unhealthy when
 * none is. Draining instances are out of rotation by choice and do not degrade it.
 */
export function engineHealth(spec: EngineSpec, check: (id: string) => CheckState): EngineHealthView {
  const instances = spec.instances.map((i) => {
    const c = check(i.id);
    return {
      id: i.id,
      address: i.address,
      health: effectiveHealth(i.draining, c),
      consecutiveFailures: c.consecutiveFailures,
      lastError: c.lastError,
      lastCheckMs: c.lastCheckMs,
      lastCheckLatencyMs: Math.round(c.lastLatencyMs * 1000) / 1000,
    };
  });
  const inRotation = instances.filter((i) => i.health !== 'draining');
  const healthy = inRotation.filter((i) => i.health === 'healthy').length;
  const status: OverallStatus =
    healthy === 0 ? 'unhealthy' : healthy === inRotation.length ? 'healthy' : 'degraded';
  return { name: spec.name, status, healthyInstances: healthy, totalInstances: instances.length, instances };
}

/** The system is healthy when every engine is, unhealthy when no engine can serve, degraded between. */
export function systemHealth(engines: readonly EngineHealthView[]): HealthReport {
  const unhealthy = engines.filter((e) => e.status === 'unhealthy').length;
  const healthy = engines.filter((e) => e.status === 'healthy').length;
  const status: OverallStatus =
    healthy === engines.length ? 'healthy' : unhealthy === engines.length ? 'unhealthy' : 'degraded';
  return { status, engines };
}
