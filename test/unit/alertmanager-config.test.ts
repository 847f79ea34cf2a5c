import { toAlertmanager } from '../../src/model/alerts/alertmanager/export';
import { fromAlertmanager } from '../../src/model/alerts/alertmanager/import';
import { parseMatcher, promDuration, promDurationMs } from '../../src/model/alerts/alertmanager/syntax';
import type { Channel } from '../../src/model/alerts/channel';
import type { InhibitRule } from '../../src/model/alerts/inhibition';
import type { RouteTree } from '../../src/model/alerts/route';
import type { TimeInterval } from '../../src/model/alerts/time-interval';
import {
  ALERT_ROUTE_KIND,
  CHANNEL_KIND,
  CONFIG_KINDS,
  INHIBIT_RULE_KIND,
  TIME_INTERVAL_KIND,
} from '../../src/model/kinds/config-kinds';
import { amtoolCheck, hasAmtool } from '../helpers/alertmanager';
import { ALERTMANAGER_SAMPLE } from '../helpers/alertmanager-sample';
import { withTool } from '../helpers/requires';
import { parse, stringify } from 'yaml';

const amtool = withTool(hasAmtool(), 'amtool (prometheus-alertmanager)');

/** Each imported document validated by its kind, as the import does before writing. */
function validated<T>(kind: string, docs: readonly unknown[]): T[] {
  return docs.map((d) => {
    const v = CONFIG_KINDS.get(kind)!.validate(d, kind);
    if (!v.ok) throw new Error(v.errors.join('; '));
    return v.value as unknown as T;
  });
}

function imported() {
  const r = fromAlertmanager(ALERTMANAGER_SAMPLE);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return {
    ...r.value,
    channelDocs: validated<Channel>(CHANNEL_KIND, r.value.channels),
    tree: validated<RouteTree>(ALERT_ROUTE_KIND, [r.value.route])[0],
    inhibit: validated<InhibitRule>(INHIBIT_RULE_KIND, r.value.inhibitRules),
    intervals: validated<TimeInterval>(TIME_INTERVAL_KIND, r.value.timeIntervals),
  };
}

describe('Alertmanager configuration in and out', () => {
  it('reads durations, matchers and names as Alertmanager writes them', () => {
    expect(promDurationMs('45s')).toBe(45_000);
    expect(promDurationMs('1h30m')).toBe(5_400_000);
    expect(promDurationMs('1d')).toBe(86_400_000);
    expect(promDurationMs('5 minutes')).toBeUndefined();
    expect(promDuration(5_400_000)).toBe('1h30m');
    expect(promDuration(30_000)).toBe('30s');
    expect(parseMatcher('severity="critical"')).toEqual({ label: 'severity', op: '=', value: 'critical' });
    expect(parseMatcher('instance=~"pg-[0-9]+"')).toEqual({
      label: 'instance',
      op: '=~',
      value: 'pg-[0-9]+',
    });
    expect(parseMatcher('team!=db')).toEqual({ label: 'team', op: '!=', value: 'db' });
    expect(parseMatcher('msg="say \\"hi\\""')).toEqual({ label: 'msg', op: '=', value: 'say "hi"' });
    expect(parseMatcher('not a matcher')).toBeUndefined();
  });

  it('turns receivers, the route, inhibit rules and time intervals into documents Nerve takes', () => {
    const r = imported();
    expect(r.channelDocs.map((c) => [c.name, c.type])).toEqual([
      ['ops-team-webhook-1', 'webhook'],
      ['ops-team-slack-1', 'slack'],
      ['pager', 'pagerduty'],
      ['dba', 'email'],
    ]);
    expect(r.channelDocs[1].url).toBe('https://hooks.slack.example/services/T0/B0/abc'); // from global
    expect(r.channelDocs[2].routingKey).toBe('0123456789abcdef0123456789abcdef');
    expect(r.channelDocs[3]).toMatchObject({
      url: 'smtp://alerts:s3cret@mail.example.org:587',
      to: ['dba@example.org', 'oncall@example.org'],
      from: 'alerts@example.org',
    });
    expect(r.tree).toMatchObject({
      name: 'root',
      channels: ['ops-team-webhook-1', 'ops-team-slack-1'],
      groupBy: ['alertname', 'engine'],
      groupWaitMs: 45_000,
      groupIntervalMs: 600_000,
      repeatIntervalMs: 5_400_000,
    });
    expect(r.tree.routes[0]).toEqual({
      matchers: [{ label: 'severity', op: '=', value: 'critical' }],
      channels: ['pager'],
      continue: true,
    });
    expect(r.tree.routes[1]).toMatchObject({
      matchers: [
        { label: 'team', op: '=', value: 'db' },
        { label: 'engine', op: '=~', value: 'pg.*' },
      ],
      channels: ['dba'],
      groupBy: ['...'],
      muteTimeIntervals: ['weekends'],
    });
    expect(r.tree.routes[1].routes![0]).toMatchObject({ activeTimeIntervals: ['office-hours'] });
    expect(r.inhibit.map((i) => [i.id, i.sourceMatchers, i.equal])).toEqual([
      ['inhibit-1', [{ label: 'alertname', op: '=', value: 'engine-down' }], ['engine']],
      ['inhibit-2', [{ label: 'severity', op: '=', value: 'critical' }], ['engine', 'instance']],
    ]);
    expect(r.intervals.map((t) => t.name)).toEqual(['office-hours', 'weekends']);
    expect(r.intervals[0].intervals[0]).toMatchObject({
      weekdays: ['monday:friday'],
      times: [{ start: '09:00', end: '17:00' }],
      location: 'Europe/Berlin',
    });
    // What could not come along is named, not guessed.
    expect(r.notes.join('\n')).toMatch(/templates: not carried over/);
    expect(r.notes.join('\n')).toMatch(/global\.resolve_timeout: not carried over/);
    expect(r.notes.join('\n')).toMatch(/"dba": opsgenie_configs not carried over/);
    expect(r.notes.join('\n')).toMatch(/slack_configs\[0\]\.channel: not carried over/);
  });

  it('names what it cannot read: an unknown receiver, a bad duration, a bad matcher', () => {
    const bad = fromAlertmanager(`route:
  receiver: nobody
  group_wait: soon
  routes:
    - matchers: ['severity critical']
receivers:
  - name: x
`);
    expect(bad.ok).toBe(false);
    const errors = bad.ok ? '' : bad.errors.join('\n');
    expect(errors).toMatch(/route\.receiver: no receiver named "nobody"/);
    expect(errors).toMatch(/route\.group_wait: not a duration: soon/);
    expect(errors).toMatch(/route\.routes\[0\]\.matchers\[0\]: not a matcher/);
    expect(fromAlertmanager('- a list').ok).toBe(false);
    expect(fromAlertmanager('route: [').ok).toBe(false);
  });

  amtool.it(
    'reads a configuration amtool accepts, and writes one amtool accepts that reads back the same',
    () => {
      expect(amtoolCheck(ALERTMANAGER_SAMPLE)).toBe('');
      const r = imported();
      const { config, notes } = toAlertmanager({
        channels: r.channelDocs,
        tree: r.tree,
        rules: [],
        inhibitRules: r.inhibit,
        timeIntervals: r.intervals,
      });
      const yaml = stringify(config);
      expect(amtoolCheck(yaml)).toBe('');
      expect(notes).toEqual([]);
      // Back again: the same channels, tree, inhibit rules and intervals.
      const again = fromAlertmanager(yaml);
      if (!again.ok) throw new Error(again.errors.join('; '));
      const tree = validated<RouteTree>(ALERT_ROUTE_KIND, [again.value.route])[0];
      expect(tree.routes).toEqual(r.tree.routes);
      expect(validated<InhibitRule>(INHIBIT_RULE_KIND, again.value.inhibitRules)).toEqual(r.inhibit);
      expect(validated<TimeInterval>(TIME_INTERVAL_KIND, again.value.timeIntervals)).toEqual(r.intervals);
      const receivers = (parse(yaml) as { receivers: { name: string }[] }).receivers.map((x) => x.name);
      expect(receivers).toEqual(['ops-team-webhook-1+ops-team-slack-1', 'pager', 'dba']);
    },
  );
});
