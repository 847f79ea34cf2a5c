import type { Alert } from './alert';
import { type AlertRouting, type EffectiveRoute, groupLabelsOf } from './route';
import { SEVERITIES } from './rule';
import { type Silence, silenced } from './silence';

/** What was last told of a group of alerts: the notification log's entry. */
export interface GroupState {
  readonly key: string;
  /** The rule of the group's alerts (the first one's, when a route groups several rules). */
  readonly rule: string;
  /** The route the group belongs to (absent in older states: the rule's own route, keyed by the rule). */
  readonly route?: string;
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

export function groupKey(
  route: EffectiveRoute,
  alert: Alert,
): { key: string; labels: Record<string, string> } {
  const labels = groupLabelsOf(route, alert);
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${v}`);
  return { key: `${route.key}|${parts.join(',')}`, labels };
}

/** The highest severity among alerts (what a channel's severity filter reads for a group). */
export function severityOf(alerts: readonly Alert[]): Alert['severity'] {
  let top = 0;
  for (const a of alerts) top = Math.max(top, SEVERITIES.indexOf(a.severity));
  return SEVERITIES[top];
}

/**
 * Which notifications are due now, and the groups' log after sending them (pure: the caller persists
 * the log before sending, so a new leader neither repeats nor skips one). Alerts land in groups by their
 * routes (`routing`), each route grouping by its `groupBy` labels, as Alertmanager's aggregation groups.
 *
 * - A new group is told once its oldest firing alert has waited `groupWaitMs`, so alerts that fire
 *   together (fifty instances of an engine) go out as one notification.
 * - A group already told whose alerts change (some joined, some resolved) is told again after
 *   `groupIntervalMs` since its last notification, the changes batched; when none fires any more, that
 *   notification is the resolved one. A route with `groupIntervalMs` 0 (a rule's own) tells resolves at
 *   once and joins after `groupWaitMs`.
 * - A group still firing with an unacknowledged alert is told again every `repeatIntervalMs`.
 * - Silenced alerts, and inhibited ones (`inhibited`: their ids), are left out of every notification.
 * - A route muted now (`muted`: its time intervals) tells nothing; its groups keep their log, so what
 *   changed goes out when the mute ends.
 */
export function planNotifications(
  routing: AlertRouting,
  alerts: readonly Alert[],
  log: ReadonlyMap<string, GroupState>,
  silences: readonly Silence[],
  nowMs: number,
  inhibited: ReadonlySet<string> = new Set(),
  muted: (route: EffectiveRoute) => boolean = () => false,
): { notifications: Notification[]; log: Map<string, GroupState> } {
  const members = new Map<
    string,
    { route: EffectiveRoute; labels: Record<string, string>; alerts: Alert[] }
  >();
  for (const a of alerts) {
    if (a.state === 'pending' || inhibited.has(a.id) || silenced(a, silences, nowMs)) continue;
    for (const route of routing.routesFor(a)) {
      const { key, labels } = groupKey(route, a);
      let m = members.get(key);
      if (!m) members.set(key, (m = { route, labels, alerts: [] }));
      m.alerts.push(a);
    }
  }
  const next = new Map(log);
  const notifications: Notification[] = [];
  const keys = new Set([...members.keys(), ...log.keys()]);
  for (const key of keys) {
    const m = members.get(key);
    const prev = log.get(key);
    const route = m?.route ?? routing.route(prev!.route ?? prev!.rule);
    if (!route) {
      next.delete(key); // its rule or route was removed: its groups are forgotten
      continue;
    }
    const firing = (m?.alerts ?? []).filter((a) => a.state === 'firing' || a.state === 'acknowledged');
    const firingIds = firing.map((a) => a.id).sort();
    const told = new Set(prev?.notified ?? []);
    const resolved = (m?.alerts ?? []).filter((a) => a.state === 'resolved' && told.has(a.id));
    const gone = [...told].filter((id) => !firingIds.includes(id));
    const joined = firing.filter((a) => !told.has(a.id));
    if (firing.length === 0 && !(prev && prev.notified.length > 0)) {
      next.delete(key);
      continue;
    }
    if (muted(route)) continue;
    const sinceLast = prev ? nowMs - prev.lastNotifiedMs : Infinity;
    const batched = route.groupIntervalMs > 0;
    const waited = (xs: readonly Alert[]) =>
      nowMs - Math.min(...xs.map((a) => a.startedAtMs)) >= route.groupWaitMs;
    let status: 'firing' | 'resolved' | undefined;
    if (!prev) {
      if (waited(joined)) status = 'firing';
    } else if (gone.length > 0 || joined.length > 0) {
      const due = batched ? sinceLast >= route.groupIntervalMs : gone.length > 0 || waited(joined);
      if (due) status = firing.length === 0 ? 'resolved' : 'firing';
    } else if (firing.some((a) => a.state === 'firing') && sinceLast >= route.repeatIntervalMs)
      status = 'firing';
    if (!status) continue;
    const labels = m?.labels ?? prev!.labels;
    const listed = [...firing, ...resolved];
    const rule = listed[0]?.rule ?? prev?.rule ?? route.key;
    const seq = (prev?.seq ?? 0) + 1;
    notifications.push({ group: key, seq, rule, status, labels, alerts: listed, channels: route.channels });
    if (status === 'resolved') next.delete(key);
    else
      next.set(key, {
        key,
        rule,
        route: route.key,
        labels,
        notified: firingIds,
        lastNotifiedMs: nowMs,
        seq,
      });
  }
  return { notifications, log: next };
}
