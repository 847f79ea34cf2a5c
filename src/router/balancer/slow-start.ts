import type { SlowStartPolicy } from '../../../gen/nerve/discovery/v1/policy';
import type { RoutableEndpoint } from './picker';

/**
 * Envoy's slow start factor: max(minWeightPercent / 100, (elapsed / window) ^ (1 / aggression)), 1 once
 * the window has passed. Elapsed time counts from 1 ms, as Envoy's, so a joining instance never starts at 0.
 */
export function slowStartFactor(policy: SlowStartPolicy, elapsedMs: number): number {
  if (policy.windowMs <= 0 || elapsedMs >= policy.windowMs) return 1;
  const aggression = policy.aggression > 0 ? policy.aggression : 1;
  const ramp = Math.pow(Math.max(elapsedMs, 1) / policy.windowMs, 1 / aggression);
  return Math.max(policy.minWeightPercent / 100, ramp);
}

/** What the ramp did to one picker build: the members to balance over, and whether any is still ramping. */
export interface Ramp {
  readonly members: readonly RoutableEndpoint[];
  /** When the next rebuild is worth it (ms from now); 0: nothing ramps. */
  readonly nextMs: number;
}

/** Rebuilds while ramping: often enough for a smooth ramp, never more than every 50 ms. */
const STEPS = 20;

/**
 * Applies slow start to the members of a new rotation. `previous` is the rotation before (undefined: the
 * engine is new to this router, so nothing ramps: every instance would ramp alike, as Envoy skips slow
 * start for a cluster's first hosts). A member that was not in `previous` starts its ramp now; one whose
 * ramp is over, or that reports itself warm, takes its full weight.
 */
export function applySlowStart(
  policy: SlowStartPolicy | undefined,
  members: readonly RoutableEndpoint[],
  previous: readonly string[] | undefined,
  now: number,
): Ramp {
  if (!policy || policy.windowMs <= 0) {
    for (const e of members) e.stats.rampStartedAt = -1;
    return { members, nextMs: 0 };
  }
  let ramping = false;
  const out = members.map((e) => {
    const s = e.stats;
    if (previous !== undefined && !previous.includes(e.id)) s.rampStartedAt = now;
    if (s.rampStartedAt < 0) return e;
    const factor = s.reportsWarm() ? 1 : slowStartFactor(policy, now - s.rampStartedAt);
    if (factor >= 1) {
      s.rampStartedAt = -1;
      return e;
    }
    ramping = true;
    return { ...e, weight: e.weight * factor };
  });
  return { members: out, nextMs: ramping ? Math.max(50, policy.windowMs / STEPS) : 0 };
}
