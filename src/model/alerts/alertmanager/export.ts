import type { Channel } from '../channel';
import type { InhibitRule } from '../inhibition';
import type { RouteInput, RouteTree } from '../route';
import type { AlertRule } from '../rule';
import type { TimeInterval } from '../time-interval';
import { formatMatcher, promDuration } from './syntax';

type Doc = Record<string, unknown>;

/** Nerve's alerting configuration, as `GET /alerting/config?format=alertmanager` reads it. */
export interface AlertingConfig {
  readonly channels: readonly Channel[];
  readonly tree: RouteTree | undefined;
  readonly rules: readonly AlertRule[];
  readonly inhibitRules: readonly InhibitRule[];
  readonly timeIntervals: readonly TimeInterval[];
}

/** A receiver that sends nowhere: the root's when Nerve's has no channels. */
const NOWHERE = 'nerve-nowhere';

/**
 * Nerve's alerting configuration as an Alertmanager configuration (secrets whole: admins only). A
 * receiver per set of channels a route names (`a+b` for two), the tree as `route`, each rule that
 * lists channels as a route of its own (`alertname="<rule>"`, `continue: true`) ahead of the tree's, inhibit rules and time
 * intervals. What Alertmanager cannot take is named in `notes` and left out: an `alertmanager` channel
 * (it would send to itself), a secret read from an environment variable.
 */
export function toAlertmanager(c: AlertingConfig): { config: Doc; notes: string[] } {
  const notes: string[] = [];
  const byName = new Map(c.channels.map((ch) => [ch.name, ch]));
  const receivers = new Map<string, Doc>();
  const receiver = (names: readonly string[]): string => {
    const usable = names.filter((n) => byName.has(n));
    const name = usable.length === 0 ? NOWHERE : usable.join('+');
    if (receivers.has(name)) return name;
    const r: Doc = { name };
    for (const n of usable) {
      const made = toConfig(byName.get(n)!, notes);
      if (!made) continue;
      const list = (r[made[0]] as Doc[] | undefined) ?? [];
      list.push(made[1]);
      r[made[0]] = list;
    }
    receivers.set(name, r);
    return name;
  };
  const route = (node: RouteInput, root: boolean): Doc => {
    const out: Doc = {};
    if (node.channels !== undefined || root) out.receiver = receiver(node.channels ?? []);
    if (node.matchers?.length) out.matchers = node.matchers.map(formatMatcher);
    if (node.continue) out.continue = true;
    if (node.groupBy) out.group_by = node.groupBy;
    if (node.groupWaitMs !== undefined) out.group_wait = promDuration(node.groupWaitMs);
    if (node.groupIntervalMs !== undefined)
      out.group_interval = promDuration(Math.max(node.groupIntervalMs, 1));
    if (node.repeatIntervalMs !== undefined)
      out.repeat_interval = promDuration(Math.max(node.repeatIntervalMs, 1));
    if (node.muteTimeIntervals?.length) out.mute_time_intervals = node.muteTimeIntervals;
    if (node.activeTimeIntervals?.length) out.active_time_intervals = node.activeTimeIntervals;
    if (node.routes?.length) out.routes = node.routes.map((r) => route(r, false));
    return out;
  };
  const rootDoc = route(c.tree ?? { channels: [] }, true);
  const own = c.rules
    .filter((r) => r.channels.length > 0)
    .map((r) => ({
      receiver: receiver(r.channels),
      matchers: [formatMatcher({ label: 'alertname', op: '=', value: r.id })],
      continue: true,
      group_by: r.groupBy.map((l) => (l === 'rule' ? 'alertname' : l)),
      group_wait: promDuration(r.groupWaitMs),
      repeat_interval: promDuration(Math.max(r.cooldownMs, 1_000)),
    }));
  if (own.length > 0) {
    rootDoc.routes = [...own, ...((rootDoc.routes as Doc[] | undefined) ?? [])];
    notes.push(
      `rules with channels (${own.length}) are routes matching their alertname, with continue; Alertmanager batches their resolves per group_interval where Nerve sends them at once`,
    );
  }
  const config: Doc = {
    route: rootDoc,
    receivers: [...receivers.values()],
  };
  if (c.inhibitRules.length > 0)
    config.inhibit_rules = c.inhibitRules.map((r) => ({
      source_matchers: r.sourceMatchers.map(formatMatcher),
      target_matchers: r.targetMatchers.map(formatMatcher),
      ...(r.equal.length > 0 && { equal: r.equal }),
    }));
  if (c.timeIntervals.length > 0)
    config.time_intervals = c.timeIntervals.map((t) => ({
      name: t.name,
      time_intervals: t.intervals.map((i) => ({
        ...(i.times.length > 0 && { times: i.times.map((x) => ({ start_time: x.start, end_time: x.end })) }),
        ...(i.weekdays.length > 0 && { weekdays: i.weekdays }),
        ...(i.daysOfMonth.length > 0 && { days_of_month: i.daysOfMonth }),
        ...(i.months.length > 0 && { months: i.months }),
        ...(i.years.length > 0 && { years: i.years }),
        ...(i.location !== 'UTC' && { location: i.location }),
      })),
    }));
  return { config, notes };
}

/** One channel as a receiver config: [its list's key, the config]; undefined (and a note) when it cannot be. */
function toConfig(ch: Channel, notes: string[]): [string, Doc] | undefined {
  const env = (field: string, from: Channel['urlFrom']) => {
    if (from && 'env' in from) {
      notes.push(`channel ${ch.name}: ${field} is read from the environment variable ${from.env}; left out`);
      return undefined;
    }
    return from && 'file' in from ? { file: from.file } : undefined;
  };
  const url = (key: string): Doc | undefined => {
    if (ch.url !== undefined) return { [key]: ch.url };
    const f = env('url', ch.urlFrom);
    return f ? { [`${key}_file`]: f.file } : undefined;
  };
  switch (ch.type) {
    case 'webhook': {
      const u = url('url');
      return u && ['webhook_configs', { ...u, send_resolved: true }];
    }
    case 'slack': {
      const u = url('api_url');
      return u && ['slack_configs', { ...u, send_resolved: true }];
    }
    case 'msteams': {
      const u = url('webhook_url');
      notes.push(`channel ${ch.name}: msteams_configs needs Alertmanager 0.26 or later`);
      return u && ['msteams_configs', { ...u, send_resolved: true }];
    }
    case 'pagerduty': {
      const key =
        ch.routingKey !== undefined ? { routing_key: ch.routingKey } : env('routingKey', ch.routingKeyFrom);
      if (!key) return undefined;
      return [
        'pagerduty_configs',
        {
          ...('file' in key ? { routing_key_file: key.file } : key),
          ...(ch.url && { url: ch.url }),
          send_resolved: true,
        },
      ];
    }
    case 'email': {
      if (ch.url === undefined) {
        notes.push(`channel ${ch.name}: its SMTP URL is read at delivery (urlFrom); left out`);
        return undefined;
      }
      const u = new URL(ch.url);
      return [
        'email_configs',
        {
          to: (ch.to ?? []).join(', '),
          from: ch.from,
          smarthost: `${u.hostname}:${u.port || (u.protocol === 'smtps:' ? 465 : 25)}`,
          ...(u.username && { auth_username: decodeURIComponent(u.username) }),
          ...(u.password && { auth_password: decodeURIComponent(u.password) }),
          require_tls: false,
          send_resolved: true,
        },
      ];
    }
    case 'alertmanager':
      notes.push(
        `channel ${ch.name}: an alertmanager channel has no receiver in Alertmanager itself; left out`,
      );
      return undefined;
  }
}
