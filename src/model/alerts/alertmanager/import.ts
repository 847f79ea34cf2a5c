import { parse } from 'yaml';
import type { Result } from '../../validate';
import type { Matcher } from '../matchers';
import { nerveName, parseMatcher, promDurationMs } from './syntax';

/** Nerve's alerting documents made from an Alertmanager configuration, and what could not come along. */
export interface AlertmanagerImport {
  readonly channels: Record<string, unknown>[];
  readonly route: Record<string, unknown>;
  readonly inhibitRules: Record<string, unknown>[];
  readonly timeIntervals: Record<string, unknown>[];
  /** Each thing left out or changed on the way, in words (an empty list: everything came along). */
  readonly notes: string[];
}

type Doc = Record<string, unknown>;

const isDoc = (v: unknown): v is Doc => v !== null && typeof v === 'object' && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strs = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

/** Receiver config kinds Nerve has a channel type for. */
const CARRIED = [
  'webhook_configs',
  'slack_configs',
  'email_configs',
  'pagerduty_configs',
  'msteams_configs',
  'msteamsv2_configs',
];

/** Names made unique: a second `ops` becomes `ops-2`. */
class Names {
  private readonly used = new Set<string>();
  take(wanted: string): string {
    let n = nerveName(wanted);
    for (let i = 2; this.used.has(n); i++) n = `${nerveName(wanted).slice(0, 59)}-${i}`;
    this.used.add(n);
    return n;
  }
}

/**
 * Reads an Alertmanager configuration (its YAML, as `amtool check-config` takes it) into Nerve's
 * documents: each receiver's configs become channels (a receiver with one config keeps its name; with
 * several, each is `<receiver>-<type>-<n>`), `route` the routing tree, `inhibit_rules` inhibit rules
 * (`inhibit-<n>`), `time_intervals` and `mute_time_intervals` time intervals. Names are made ones Nerve
 * takes (lowercase), and every rename or omission is a note. What Nerve cannot express (other receiver
 * types, templates, per-receiver titles, `send_resolved: false`) is named in the notes, not guessed.
 */
export function fromAlertmanager(text: string): Result<AlertmanagerImport> {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    return { ok: false, errors: [`not valid YAML: ${(err as Error).message.split('\n')[0]}`] };
  }
  if (!isDoc(raw)) return { ok: false, errors: ['an Alertmanager configuration is a YAML mapping'] };
  const errors: string[] = [];
  const notes: string[] = [];
  const global = isDoc(raw.global) ? raw.global : {};
  for (const key of Object.keys(raw))
    if (
      !['global', 'route', 'receivers', 'inhibit_rules', 'time_intervals', 'mute_time_intervals'].includes(
        key,
      )
    )
      notes.push(
        `${key}: not carried over (Nerve has no ${key === 'templates' ? 'notification templates' : key})`,
      );
  for (const key of Object.keys(global))
    if (
      !/^(smtp_(smarthost|from|auth_username|auth_password|auth_password_file|require_tls)|slack_api_url|slack_api_url_file|pagerduty_url)$/.test(
        key,
      )
    )
      notes.push(`global.${key}: not carried over`);

  // Time intervals first: routes name them.
  const intervalNames = new Map<string, string>();
  const timeIntervals: Doc[] = [];
  const names = new Names();
  for (const section of ['time_intervals', 'mute_time_intervals'] as const)
    (Array.isArray(raw[section]) ? raw[section] : []).forEach((t: unknown, i: number) => {
      if (!isDoc(t) || typeof t.name !== 'string') return errors.push(`${section}[${i}].name: required`);
      const name = names.take(t.name);
      if (name !== t.name) notes.push(`${section}[${i}]: "${t.name}" is "${name}" in Nerve`);
      intervalNames.set(t.name, name);
      const intervals = (Array.isArray(t.time_intervals) ? t.time_intervals : []).map((iv: unknown) => {
        const d = isDoc(iv) ? iv : {};
        return {
          ...(Array.isArray(d.times) && {
            times: d.times.map((x: unknown) => ({
              start: str(isDoc(x) ? x.start_time : undefined) ?? '',
              end: str(isDoc(x) ? x.end_time : undefined) ?? '',
            })),
          }),
          ...(d.weekdays !== undefined && { weekdays: strs(d.weekdays) }),
          ...(d.days_of_month !== undefined && { daysOfMonth: strs(d.days_of_month) }),
          ...(d.months !== undefined && { months: strs(d.months) }),
          ...(d.years !== undefined && { years: strs(d.years) }),
          ...(typeof d.location === 'string' && { location: d.location === 'Local' ? 'UTC' : d.location }),
        };
      });
      // An interval with no fields holds always, as Alertmanager's empty time_intervals entry does.
      timeIntervals.push({ name, intervals: intervals.length > 0 ? intervals : [{}] });
    });

  // Receivers into channels.
  const channelNames = new Names();
  const receivers = new Map<string, string[]>();
  const channels: Doc[] = [];
  (Array.isArray(raw.receivers) ? raw.receivers : []).forEach((r: unknown, i: number) => {
    if (!isDoc(r) || typeof r.name !== 'string') return errors.push(`receivers[${i}].name: required`);
    const configs: [string, Doc, number][] = [];
    for (const [key, list] of Object.entries(r)) {
      if (key === 'name') continue;
      if (!CARRIED.includes(key)) {
        notes.push(`receivers[${i}] "${r.name}": ${key} not carried over (Nerve has no such channel type)`);
        continue;
      }
      (Array.isArray(list) ? list : []).forEach(
        (c: unknown, n: number) => isDoc(c) && configs.push([key, c, n]),
      );
    }
    const made: string[] = [];
    for (const [key, c, n] of configs) {
      const type = key.replace(/v2_configs$|_configs$/, '');
      const name = channelNames.take(configs.length === 1 ? r.name : `${r.name}-${type}-${n + 1}`);
      const where = `receivers[${i}].${key}[${n}]`;
      const channel = toChannel(type, c, global, where, notes, errors);
      if (!channel) continue;
      if (c.send_resolved === false)
        notes.push(`${where}: send_resolved false not carried over (Nerve always sends resolves)`);
      for (const k of [
        'title',
        'text',
        'message',
        'description',
        'html',
        'headers',
        'http_config',
        'channel',
        'details',
      ])
        if (c[k] !== undefined) notes.push(`${where}.${k}: not carried over`);
      channels.push({ name, ...channel });
      made.push(name);
    }
    if (made.length === 1 && made[0] !== r.name)
      notes.push(`receivers[${i}]: "${r.name}" is channel "${made[0]}" in Nerve`);
    receivers.set(r.name, made);
  });

  if (!isDoc(raw.route)) errors.push('route: required (the routing tree)');
  const route = isDoc(raw.route)
    ? toRoute(raw.route, 'route', receivers, intervalNames, errors, notes, true)
    : {};

  const inhibitRules: Doc[] = [];
  (Array.isArray(raw.inhibit_rules) ? raw.inhibit_rules : []).forEach((r: unknown, i: number) => {
    const d = isDoc(r) ? r : {};
    const where = `inhibit_rules[${i}]`;
    inhibitRules.push({
      id: `inhibit-${i + 1}`,
      sourceMatchers: matchersOf(d, 'source_matchers', 'source_match', 'source_match_re', where, errors),
      targetMatchers: matchersOf(d, 'target_matchers', 'target_match', 'target_match_re', where, errors),
      equal: strs(d.equal),
    });
  });
  return errors.length > 0
    ? { ok: false, errors }
    : {
        ok: true,
        value: { channels, route: { name: 'root', ...route }, inhibitRules, timeIntervals, notes },
      };
}

/** One receiver config as a channel of `type`, its secrets as given or as the file they are read from. */
function toChannel(
  type: string,
  c: Doc,
  global: Doc,
  where: string,
  notes: string[],
  errors: string[],
): Doc | undefined {
  const secret = (field: string, fallback?: string) => {
    const v = str(c[field]) ?? (fallback ? str(global[fallback]) : undefined);
    const file = str(c[`${field}_file`]) ?? (fallback ? str(global[`${fallback}_file`]) : undefined);
    return v !== undefined ? { value: v } : file !== undefined ? { file } : undefined;
  };
  const urlOf = (field: string, fallback?: string) => {
    const s = secret(field, fallback);
    if (!s) errors.push(`${where}.${field}: required`);
    return s && ('value' in s ? { url: s.value } : { urlFrom: { file: s.file } });
  };
  switch (type) {
    case 'webhook':
      return { type: 'webhook', ...urlOf('url') };
    case 'slack':
      return { type: 'slack', ...urlOf('api_url', 'slack_api_url') };
    case 'msteams':
      return { type: 'msteams', ...urlOf('webhook_url') };
    case 'pagerduty': {
      const key = secret('routing_key');
      if (!key) {
        errors.push(
          `${where}.routing_key: required (${c.service_key !== undefined ? 'service_key is Events API v1, which Nerve does not speak' : 'Events API v2'})`,
        );
        return undefined;
      }
      const url = str(c.url) ?? str(global.pagerduty_url);
      return {
        type: 'pagerduty',
        ...('value' in key ? { routingKey: key.value } : { routingKeyFrom: { file: key.file } }),
        ...(url && { url }),
      };
    }
    case 'email': {
      const to = str(c.to);
      const smarthost = str(c.smarthost) ?? str(global.smtp_smarthost);
      if (!to) errors.push(`${where}.to: required`);
      if (!smarthost) errors.push(`${where}.smarthost: required (or global.smtp_smarthost)`);
      if (!to || !smarthost) return undefined;
      const user = str(c.auth_username) ?? str(global.smtp_auth_username);
      const pass = str(c.auth_password) ?? str(global.smtp_auth_password);
      if ((c.auth_password_file ?? global.smtp_auth_password_file) !== undefined)
        notes.push(
          `${where}: auth_password_file not carried over (give the whole smtp:// URL in a file as urlFrom)`,
        );
      const port = Number(smarthost.split(':').pop());
      const auth = user ? `${encodeURIComponent(user)}${pass ? `:${encodeURIComponent(pass)}` : ''}@` : '';
      const from = str(c.from) ?? str(global.smtp_from);
      return {
        type: 'email',
        url: `${port === 465 ? 'smtps' : 'smtp'}://${auth}${smarthost}`,
        to: to
          .split(',')
          .map((x) => x.trim())
          .filter(Boolean),
        ...(from && { from: from.replace(/^.*<([^>]+)>.*$/, '$1') }),
      };
    }
  }
  return undefined;
}

/** Matchers from the current form (`matchers: ['a="b"']`) and the deprecated maps (`match`, `match_re`). */
function matchersOf(
  d: Doc,
  list: string,
  eq: string,
  re: string,
  where: string,
  errors: string[],
): Matcher[] {
  const out: Matcher[] = [];
  strs(d[list]).forEach((text, i) => {
    const m = parseMatcher(text);
    if (m) out.push(m);
    else errors.push(`${where}.${list}[${i}]: not a matcher: ${text}`);
  });
  for (const [key, op] of [
    [eq, '='],
    [re, '=~'],
  ] as const)
    if (isDoc(d[key]))
      for (const [label, value] of Object.entries(d[key] as Doc))
        out.push({ label, op, value: String(value) });
  return out;
}

function toRoute(
  r: Doc,
  where: string,
  receivers: ReadonlyMap<string, string[]>,
  intervals: ReadonlyMap<string, string>,
  errors: string[],
  notes: string[],
  root = false,
): Doc {
  const out: Doc = {};
  if (typeof r.receiver === 'string') {
    const channels = receivers.get(r.receiver);
    if (!channels) errors.push(`${where}.receiver: no receiver named "${r.receiver}"`);
    else out.channels = channels;
  } else if (root) errors.push(`${where}.receiver: required on the root`);
  if (!root) {
    const matchers = matchersOf(r, 'matchers', 'match', 'match_re', where, errors);
    if (matchers.length > 0) out.matchers = matchers;
    if (r.continue === true) out.continue = true;
  }
  if (r.group_by !== undefined) out.groupBy = strs(r.group_by);
  for (const [key, field] of [
    ['group_wait', 'groupWaitMs'],
    ['group_interval', 'groupIntervalMs'],
    ['repeat_interval', 'repeatIntervalMs'],
  ] as const)
    if (r[key] !== undefined) {
      const ms = promDurationMs(String(r[key]));
      if (ms === undefined) errors.push(`${where}.${key}: not a duration: ${String(r[key])}`);
      else out[field] = ms;
    }
  for (const [key, field] of [
    ['mute_time_intervals', 'muteTimeIntervals'],
    ['active_time_intervals', 'activeTimeIntervals'],
  ] as const)
    if (r[key] !== undefined)
      out[field] = strs(r[key]).map((n) => {
        if (!intervals.has(n)) errors.push(`${where}.${key}: no time interval named "${n}"`);
        return intervals.get(n) ?? n;
      });
  if (Array.isArray(r.routes))
    out.routes = r.routes.map((c: unknown, i: number) =>
      toRoute(isDoc(c) ? c : {}, `${where}.routes[${i}]`, receivers, intervals, errors, notes),
    );
  return out;
}
