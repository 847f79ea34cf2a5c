import type { HealthCheckPolicy } from '../../gen/nerve/discovery/v1/policy';

/** What the active health checker knows of one instance. */
export interface CheckState {
  readonly status: 'healthy' | 'unhealthy' | 'unknown';
  readonly consecutiveSuccesses: number;
  readonly consecutiveFailures: number;
  readonly lastError: string;
  readonly lastCheckMs: number;
  readonly lastLatencyMs: number;
}

export const INITIAL_CHECK_STATE: CheckState = {
  status: 'unknown',
  consecutiveSuccesses: 0,
  consecutiveFailures: 0,
  lastError: '',
  lastCheckMs: 0,
  lastLatencyMs: 0,
};

export interface CheckResult {
  readonly ok: boolean;
  readonly error?: string;
  readonly atMs: number;
  readonly latencyMs: number;
}

/**
 * Folds one check into the state, Envoy style: an instance of unknown health turns healthy on its first
 * success and unhealthy on its first failure; after that it takes `healthyThreshold` successes in a row
 * to come back and `unhealthyThreshold` failures in a row to go out.
 */
export function recordCheck(state: CheckState, result: CheckResult, policy: HealthCheckPolicy): CheckState {
  const successes = result.ok ? state.consecutiveSuccesses + 1 : 0;
  const failures = result.ok ? 0 : state.consecutiveFailures + 1;
  let status = state.status;
  if (status === 'unknown') status = result.ok ? 'healthy' : 'unhealthy';
  else if (status === 'healthy' && failures >= Math.max(1, policy.unhealthyThreshold)) status = 'unhealthy';
  else if (status === 'unhealthy' && successes >= Math.max(1, policy.healthyThreshold)) status = 'healthy';
  return {
    status,
    consecutiveSuccesses: successes,
    consecutiveFailures: failures,
    lastError: result.ok ? '' : (result.error ?? 'check failed'),
    lastCheckMs: result.atMs,
    lastLatencyMs: result.latencyMs,
  };
}
