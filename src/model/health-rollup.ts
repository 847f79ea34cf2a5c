import type { HealthState } from './engine';
import type { CheckState } from './health';

/**
 * Why an instance is not serving as it should. Codes are stable (dashboards and alert rules key on
 * them); the message is for people.
 */
export type HealthReasonCode =
  'probe_failing' | 'not_checked' | 'ejected' | 'circuit_open' | 'draining' | 'lease_lapsed';

export interface HealthReason {
  readonly code: HealthReasonCode;
  readonly message: string;
}

/** What is known of one instance, from the probes (leader), the routers and its spec. */
export interface InstanceFacts {
  readonly draining: boolean;
  readonly check: CheckState;
  /** The fleet-wide circuit (more than half of the reporting routers have it open). */
  readonly circuitOpen: boolean;
  /** Routers that have it passively ejected (outlier detection), of those reporting it. */
  readonly ejectedBy: number;
  readonly leaseLapsed?: boolean;
}

/**
 * An instance's status and why. The rule: draining by choice is `draining`; a failing probe, a fleet-wide
 * open circuit or a lapsed lease make it `unhealthy` (it is out of rotation); a router's ejection is a
 * reason shown without changing the status (it is one router's view, and lasts seconds); never probed
 * yet is `unknown` (routable).
 */
export function explainInstance(f: InstanceFacts): { status: HealthState; reasons: HealthReason[] } {
  const reasons: HealthReason[] = [];
  if (f.draining) reasons.push({ code: 'draining', message: 'drained by an operator: no new calls' });
  if (f.leaseLapsed) reasons.push({ code: 'lease_lapsed', message: 'its registration lease lapsed' });
  if (f.check.status === 'unhealthy')
    reasons.push({
      code: 'probe_failing',
      message: `health probe failing (${f.check.consecutiveFailures} in a row): ${f.check.lastError || 'check failed'}`,
    });
  if (f.check.status === 'unknown') reasons.push({ code: 'not_checked', message: 'not probed yet' });
  if (f.circuitOpen) reasons.push({ code: 'circuit_open', message: 'circuit open on most routers' });
  if (f.ejectedBy > 0)
    reasons.push({ code: 'ejected', message: `ejected by ${f.ejectedBy} router(s) after failed calls` });
  let status: HealthState = f.check.status;
  if (f.draining) status = 'draining';
  else if (f.leaseLapsed || f.circuitOpen) status = 'unhealthy';
  return { status, reasons };
}

export type RollupStatus = 'healthy' | 'degraded' | 'unhealthy';

const RANK: Record<RollupStatus, number> = { healthy: 0, degraded: 1, unhealthy: 2 };

/**
 * An engine from its instances: healthy when every instance in rotation is healthy, unhealthy when none
 * is, degraded between. Draining instances are out of rotation by choice and do not count; `unknown`
 * (not probed yet) counts as not healthy.
 */
export function rollup(statuses: readonly HealthState[]): RollupStatus {
  let inRotation = 0;
  let healthy = 0;
  for (const s of statuses) {
    if (s === 'draining') continue;
    inRotation++;
    if (s === 'healthy') healthy++;
  }
  return healthy === 0 ? 'unhealthy' : healthy === inRotation ? 'healthy' : 'degraded';
}

/** An engine's status with hysteresis: what is reported, and a better status waiting to be believed. */
export interface HeldStatus {
  readonly status: RollupStatus;
  readonly sinceMs: number;
  readonly better?: { readonly status: RollupStatus; readonly sinceMs: number };
  /** It has been healthy once: hysteresis applies from then on (a new engine comes up without delay). */
  readonly settled: boolean;
}

/**
 * Hysteresis, so that a flapping instance does not flap its engine: a worse status is reported at once
 * (an operator must hear of trouble now); a better one only once it has held for `holdMs` without
 * getting worse again. Until the engine has first been healthy (starting up, instances not probed
 * yet) its status follows its instances directly.
 */
export function holdStatus(
  prev: HeldStatus | undefined,
  raw: RollupStatus,
  nowMs: number,
  holdMs: number,
): HeldStatus {
  if (!prev || !prev.settled)
    return prev && prev.status === raw ? prev : { status: raw, sinceMs: nowMs, settled: raw === 'healthy' };
  if (RANK[raw] > RANK[prev.status]) return { status: raw, sinceMs: nowMs, settled: true };
  if (raw === prev.status)
    return prev.better ? { status: prev.status, sinceMs: prev.sinceMs, settled: true } : prev;
  const better = prev.better && prev.better.status === raw ? prev.better : { status: raw, sinceMs: nowMs };
  if (nowMs - better.sinceMs >= holdMs) return { status: raw, sinceMs: nowMs, settled: true };
  return { status: prev.status, sinceMs: prev.sinceMs, better, settled: true };
}
