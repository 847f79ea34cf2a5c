import type { SlowStartPolicy } from '../../../gen/nerve/discovery/v1/policy';
import { type EngineCluster, HealthStatus } from '../../../gen/nerve/discovery/v1/resources';
import { slowStartFactor } from '../balancer/slow-start';
import { CircuitState } from '../resilience/circuit-breaker';
import type { InstanceStats } from '../stats/instance-stats';

/** What an explanation reads of an instance's circuit breaker. */
export interface BreakerView {
  readonly state: CircuitState;
  readonly reason: string;
}

/** Where an instance stands in one router's rotation, and every reason it takes less than its share. */
export interface InstanceStanding {
  readonly id: string;
  /** The engine's picker may choose it now. */
  readonly inRotation: boolean;
  /**
   * Why it takes no calls, or fewer than its weight says, most decisive first: "draining", "weight 0",
   * "unhealthy", "ejected for 4200 ms: success rate 71 % far below its peers'", "circuit open: …",
   * "circuit half-open: trial calls only", "slow start at 30 %", "its priority tier takes no traffic".
   * Empty: it takes its full share.
   */
  readonly reasons: readonly string[];
}

export interface StandingInput {
  readonly cluster: EngineCluster;
  /** The ids the engine's picker chooses from now. */
  readonly inRotation: ReadonlySet<string>;
  readonly stats: (id: string) => InstanceStats | undefined;
  readonly breaker: (id: string) => BreakerView | undefined;
  /** performance.now() ms, the clock ejections and slow start are kept in. */
  readonly now: number;
}

const HEALTH: Partial<Record<HealthStatus, string>> = {
  [HealthStatus.HEALTH_STATUS_UNHEALTHY]: 'unhealthy',
  [HealthStatus.HEALTH_STATUS_DRAINING]: 'draining',
  [HealthStatus.HEALTH_STATUS_UNSPECIFIED]: 'no health from the control plane',
};

/**
 * Every configured instance of an engine with the reasons it is out of rotation or below its share in
 * this router. Pure (the router's state is passed in): /clusters and call explanations say the same.
 * Built on demand, never on a call's path.
 */
export function instanceStandings(input: StandingInput): InstanceStanding[] {
  const { cluster, now } = input;
  const slowStart = cluster.policy?.strategy === 'sticky' ? undefined : cluster.policy?.slowStart;
  return cluster.endpoints.map((e) => {
    const reasons: string[] = [];
    const health = HEALTH[e.health];
    if (health !== undefined) reasons.push(health);
    if (e.weight === 0) reasons.push('weight 0');
    const stats = input.stats(e.id);
    if (stats && stats.ejectedUntil > now)
      reasons.push(
        `ejected for ${Math.round(stats.ejectedUntil - now)} ms${stats.ejectionReason ? `: ${stats.ejectionReason}` : ''}`,
      );
    const breaker = input.breaker(e.id);
    if (breaker?.state === CircuitState.CIRCUIT_STATE_OPEN)
      reasons.push(`circuit open${breaker.reason ? `: ${breaker.reason}` : ''}`);
    if (breaker?.state === CircuitState.CIRCUIT_STATE_HALF_OPEN)
      reasons.push('circuit half-open: trial calls only');
    const inRotation = input.inRotation.has(e.id);
    const ramp = inRotation && stats ? rampPercent(slowStart, stats, now) : 100;
    if (ramp < 100) reasons.push(`slow start at ${ramp} %`);
    if (!inRotation && reasons.length === 0) reasons.push('its priority tier takes no traffic');
    return { id: e.id, inRotation, reasons };
  });
}

/** The share of its weight an instance ramping up takes now (100: not ramping). */
function rampPercent(policy: SlowStartPolicy | undefined, stats: InstanceStats, now: number): number {
  if (!policy || stats.rampStartedAt < 0 || stats.reportsWarm()) return 100;
  return Math.floor(100 * slowStartFactor(policy, now - stats.rampStartedAt));
}
