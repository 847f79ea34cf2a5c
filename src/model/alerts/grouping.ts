import type { Alert } from './alert';
import type { AlertRule } from './rule';
import { labelOf, type Silence, silenced } from './silence';

/** What was last told of a group of alerts: the notification log's entry. */
export interface GroupState {
  readonly key: string;
  readonly rule: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Ids of the firing (or acknowledged) alerts the last notification listed. */
  readonly notified: readonly string[];
  readonly lastNotifiedMs: number;
  /** Notifications sent for this group so far (the next one's number is seq + 1). */
  readonly seq: number;
}

/** One notification: a group's alerts as they stand, firing or (when none fires any more) resolved. */
export interface Notification {
  readonly group: string;
  readonly seq: number;
  readonly rule: string;
  readonly status: 'firing' | 'resolved';
  readonly labels: Readonly<Record<string, string>>;
  /** Firing and acknowledged alerts, and those resolved since the last notification. */
  readonly alerts: readonly Alert[];
  readonly channels: readonly string[];
}

export function groupKey(rule: AlertRule, alert: Alert): { key: string; labels: Record<string, string> } {
  const labels: Record<string, string> = {};
  for (const label of rule.groupBy) labels[label] = labelOf(alert, label);
  return { key: `${rule.id}|${rule.groupBy.map((l) => `${l}=${labels[l]}`).join(',')}`, labels };
}

/**
 * Which notifications are due now, and the groups' log after sending them (pure: the caller persists
 * the log before sending, so a new leader neither repeats nor skips one).
 *
 * - A new group is told once its oldest firing alert has waited `groupWaitMs`, so alerts that fire
 *   together (fifty instances of an engine) go out as one notification.
 * - A group whose alerts change is told again: at once when some resolved, after `groupWaitMs` when
 *   new ones joined.
 * - When none of a group's alerts fires any more, the resolved notification goes out at once.
 * - A group still firing with an unacknowledged alert is told again every `cooldownMs`.
 * - Silenced alerts, and inhibited ones (`inhibited`: their ids), are left out of every notification.
 */
export function planNotifications(
  rules: ReadonlyMap<string, AlertRule>,
  alerts: readonly Alert[],
  log: ReadonlyMap<string, GroupState>,
  silences: readonly Silence[],
  nowMs: number,
  inhibited: ReadonlySet<string> = new Set(),
): { notifications: Notification[]; log: Map<string, GroupState> } {
  const members = new Map<string, { rule: AlertRule; labels: Record<string, string>; alerts: Alert[] }>();
  for (const a of alerts) {
    const rule = rules.get(a.rule);
    if (!rule || a.state === 'pending' || inhibited.has(a.id) || silenced(a, silences, nowMs)) continue;
    const { key, labels } = groupKey(rule, a);
    let m = members.get(key);
    if (!m) members.set(key, (m = { rule, labels, alerts: [] }));
    m.alerts.push(a);
  }
  const next = new Map(log);
  const notifications: Notification[] = [];
  const keys = new Set([...members.keys(), ...log.keys()]);
  for (const key of keys) {
    const m = members.get(key);
    const prev = log.get(key);
    const rule = m?.rule ?? rules.get(prev!.rule);
    const firing = (m?.alerts ?? []).filter((a) => a.state === 'firing' || a.state === 'acknowledged');
    const firingIds = firing.map((a) => a.id).sort();
    const told = new Set(prev?.notified ?? []);
    const resolved = (m?.alerts ?? []).filter((a) => a.state === 'resolved' && told.has(a.id));
    const gone = [...told].filter((id) => !firingIds.includes(id));
    const joined = firing.filter((a) => !told.has(a.id));
    let status: 'firing' | 'resolved' | undefined;
    if (!rule) {
      next.delete(key); // the rule was deleted: its groups are forgotten
      continue;
    }
    if (firing.length === 0) {
      if (prev && prev.notified.length > 0) status = 'resolved';
      else next.delete(key);
    } else if (gone.length > 0) status = 'firing';
    else if (joined.length > 0) {
      const oldest = Math.min(...joined.map((a) => a.startedAtMs));
      if (nowMs - oldest >= rule.groupWaitMs) status = 'firing';
    } else if (
      prev &&
      firing.some((a) => a.state === 'firing') &&
      nowMs - prev.lastNotifiedMs >= rule.cooldownMs
    )
      status = 'firing';
    if (!status) continue;
    const labels = m?.labels ?? prev!.labels;
    const seq = (prev?.seq ?? 0) + 1;
    notifications.push({
      group: key,
      seq,
      rule: rule.id,
      status,
      labels,
      alerts: [...firing, ...resolved],
      channels: rule.channels,
    });
    if (status === 'resolved') next.delete(key);
    else next.set(key, { key, rule: rule.id, labels, notified: firingIds, lastNotifiedMs: nowMs, seq });
  }
  return { notifications, log: next };
}
