import type { AlertRule, Severity } from './rule';

export type AlertState = 'pending' | 'firing' | 'acknowledged' | 'resolved';

/** What a rule sees of one subject (an engine, an instance, or the fleet) at one evaluation. */
export interface Observation {
  readonly engine: string | null;
  readonly instance: string | null;
  /** The condition holds (or the event is current). */
  readonly active: boolean;
  readonly value: number;
  readonly summary: string;
}

/** One alert: a rule's finding about one subject, from pending to resolved. Times are epoch ms. */
export interface Alert {
  /** Its fingerprint: the rule and the subject. */
  readonly id: string;
  readonly rule: string;
  readonly severity: Severity;
  readonly engine: string | null;
  readonly instance: string | null;
  readonly state: AlertState;
  readonly value: number;
  readonly summary: string;
  readonly pendingSinceMs: number;
  readonly startedAtMs: number;
  readonly lastActiveMs: number;
  readonly resolvedAtMs: number;
  readonly acknowledgedAtMs: number;
  readonly acknowledgedBy: string;
  /** The rule's own labels, for routes, inhibit rules and receivers to match on (absent in older states). */
  readonly labels?: Readonly<Record<string, string>>;
}

export function alertId(rule: string, engine: string | null, instance: string | null): string {
  return [rule, engine ?? '*', instance ?? '*'].join(':');
}

/**
 * One evaluation of a rule: the alerts of this rule after seeing `observations` at `nowMs`. A subject
 * whose condition holds is pending until it has held `forMs`, then firing; one that stops holding is
 * resolved once `keepFiringForMs` has passed without it holding again (a pending one is dropped: it
 * never fired). Acknowledged alerts stay acknowledged until resolved. Resolved alerts of earlier
 * evaluations are returned unchanged (history); a subject that fires again starts a new alert.
 */
export function evaluateRule(
  rule: AlertRule,
  current: readonly Alert[],
  observations: readonly Observation[],
  nowMs: number,
): Alert[] {
  const forMs = rule.condition?.forMs ?? 0;
  const keepMs = rule.condition?.keepFiringForMs ?? rule.keepFiringForMs ?? 0;
  const open = new Map(current.filter((a) => a.state !== 'resolved').map((a) => [a.id, a]));
  const out: Alert[] = current.filter((a) => a.state === 'resolved');
  const seen = new Set<string>();
  for (const o of observations) {
    if (!o.active) continue;
    const id = alertId(rule.id, o.engine, o.instance);
    seen.add(id);
    const was = open.get(id);
    const pendingSinceMs = was?.pendingSinceMs ?? nowMs;
    const fires = nowMs - pendingSinceMs >= forMs;
    const state: AlertState = was?.state === 'acknowledged' ? 'acknowledged' : fires ? 'firing' : 'pending';
    out.push({
      id,
      rule: rule.id,
      severity: rule.severity,
      engine: o.engine,
      instance: o.instance,
      state,
      value: o.value,
      summary: o.summary,
      pendingSinceMs,
      startedAtMs: was && was.state !== 'pending' ? was.startedAtMs : state === 'pending' ? 0 : nowMs,
      lastActiveMs: nowMs,
      resolvedAtMs: 0,
      acknowledgedAtMs: was?.acknowledgedAtMs ?? 0,
      acknowledgedBy: was?.acknowledgedBy ?? '',
      // Rules stored before labels existed have none.
      ...(rule.labels && Object.keys(rule.labels).length > 0 && { labels: rule.labels }),
    });
  }
  for (const [id, a] of open) {
    if (seen.has(id)) continue;
    if (a.state === 'pending') continue; // never fired: forgotten
    if (nowMs - a.lastActiveMs < keepMs) out.push(a);
    else out.push({ ...a, state: 'resolved', resolvedAtMs: nowMs });
  }
  return out;
}

/** Acknowledged by `who`: no more repeats, the resolved notification still goes out. */
export function acknowledge(alert: Alert, who: string, nowMs: number): Alert {
  if (alert.state !== 'firing') return alert;
  return { ...alert, state: 'acknowledged', acknowledgedAtMs: nowMs, acknowledgedBy: who };
}
