import type { HealthTransition } from '../health/health-history';

/** One instance's routing standing at a past moment, as the health history tells it. */
export interface PastStanding {
  readonly id: string;
  /** In the fleet's rotation then: healthy (or not yet probed), not drained, no open circuit, leased. */
  readonly inRotation: boolean;
  /**
   * Each thing that held the instance out (or out of some routers' rotation) then, with since when,
   * why and by whom: "drained since 2026-12-08T12:01:07Z by alice: no new calls".
   */
  readonly reasons: readonly string[];
}

const PROBED_IN = new Set(['healthy', 'unknown']);

/**
 * Where each instance stood at `atMs`, from the engine's health history (probe transitions beside
 * drains, leases, fleet-wide circuits and each router's ejections; routing-history.ts records them).
 * Pure: the last transition of each kind at or before `atMs` decides; later ones are not seen. An
 * instance with no transition before `atMs` has no recorded reason to be out.
 */
export function standingsAt(
  transitions: readonly HealthTransition[],
  instances: readonly string[],
  atMs: number,
): PastStanding[] {
  const last = new Map<string, HealthTransition>();
  for (const t of transitions) {
    if (t.atMs > atMs) continue;
    const kind = t.kind ?? 'probe';
    const key =
      kind === 'ejection'
        ? `${t.instance}\u0000ejection\u0000${t.actor ?? ''}`
        : `${t.instance}\u0000${kind}`;
    const seen = last.get(key);
    if (!seen || seen.atMs <= t.atMs) last.set(key, t);
  }
  return instances.map((id) => {
    const of = (kind: string) => last.get(`${id}\u0000${kind}`);
    const reasons: string[] = [];
    const said = (t: HealthTransition, what: string) =>
      `${what} since ${t.at}${t.actor ? ` by ${t.actor}` : ''}: ${t.reason}`;
    const probe = of('probe');
    const drain = of('drain');
    const circuit = of('circuit');
    const lease = of('lease');
    const probedOut = probe !== undefined && !PROBED_IN.has(probe.to);
    if (probedOut) reasons.push(said(probe, probe.to));
    const drained = drain?.to === 'draining';
    if (drained) reasons.push(said(drain, 'drained'));
    const open = circuit?.to === 'circuit_open';
    if (circuit && circuit.to !== 'circuit_closed') reasons.push(said(circuit, circuit.to.replace('_', ' ')));
    const lapsed = lease?.to === 'lease_lapsed';
    if (lapsed) reasons.push(said(lease, 'lease lapsed'));
    // Ejection is one router's: the instance stays in the others' rotation.
    for (const [key, t] of last)
      if (key.startsWith(`${id}\u0000ejection\u0000`) && t.to === 'ejected')
        reasons.push(said(t, `ejected by router ${t.actor ?? '?'}`));
    return { id, inRotation: !probedOut && !drained && !open && !lapsed, reasons };
  });
}
