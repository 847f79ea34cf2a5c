import { type Alert, evaluateRule, type Observation } from '../../src/model/alerts/alert';
import { type GroupState, type Notification, planNotifications } from '../../src/model/alerts/grouping';
import { AlertRouting, parseRouteTree, type RouteTree } from '../../src/model/alerts/route';
import { type AlertRule, parseAlertRule } from '../../src/model/alerts/rule';
import { inTimeInterval, parseTimeInterval, type TimeInterval } from '../../src/model/alerts/time-interval';

function rule(input: object): AlertRule {
  const parsed = parseAlertRule({ name: 'r', severity: 'warning', event: 'instance_down', ...input });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.value;
}

function tree(input: object): RouteTree {
  const parsed = parseRouteTree({ name: 'root', ...input });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.value;
}

function interval(input: object): TimeInterval {
  const parsed = parseTimeInterval({ name: 'i', ...input });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.value;
}

const obs = (engine: string, instance: string): Observation => ({
  engine,
  instance,
  active: true,
  value: 1,
  summary: `${engine}/${instance} down`,
});

/** The alerts a rule fires at `now` for `down` (engine/instance pairs), carried from `was`. */
function fire(r: AlertRule, was: Alert[], down: [string, string][], now: number): Alert[] {
  return evaluateRule(
    r,
    was.filter((a) => a.rule === r.id),
    down.map(([e, i]) => obs(e, i)),
    now,
  );
}

describe('alert routing tree (Alertmanager semantics)', () => {
  const critical = rule({ id: 'page', severity: 'critical', labels: { team: 'db' } });
  const warning = rule({ id: 'ticket', severity: 'warning' });
  const rules = new Map([
    [critical.id, critical],
    [warning.id, warning],
  ]);
  const routing = new AlertRouting(
    rules,
    tree({
      channels: ['default'],
      routes: [
        { matchers: [{ label: 'severity', value: 'critical' }], channels: ['pager'], continue: true },
        {
          matchers: [{ label: 'engine', op: '=~', value: 'calc|math' }],
          channels: ['team-math'],
          routes: [{ matchers: [{ label: 'instance', value: 'calc-1' }], channels: ['special'] }],
        },
        { matchers: [{ label: 'team', value: 'db' }], channels: ['dba'] },
      ],
    }),
  );
  const keys = (a: Alert) => routing.routesFor(a).map((r) => `${r.key}:${r.channels.join()}`);

  it('takes the first matching child, goes on after `continue`, descends, and falls back to the parent', () => {
    const [c2] = fire(critical, [], [['calc', 'calc-2']], 0);
    expect(keys(c2)).toEqual(['/0:pager', '/1:team-math']);
    const [c1] = fire(critical, [], [['calc', 'calc-1']], 0);
    expect(keys(c1)).toEqual(['/0:pager', '/1/0:special']);
    const [w] = fire(warning, [], [['db', 'db-1']], 0);
    expect(keys(w)).toEqual(['/:default']);
    // The rule's own labels are matched like any other: the critical one on another engine reaches dba.
    const [d] = fire(critical, [], [['pg', 'pg-1']], 0);
    expect(keys(d)).toEqual(['/0:pager', '/2:dba']);
  });

  it('keeps a rule that lists channels as a route of its own beside the tree', () => {
    const own = rule({ id: 'own', channels: ['hook'] });
    const both = new AlertRouting(new Map([[own.id, own]]), tree({ channels: ['default'] }));
    const [a] = fire(own, [], [['calc', 'calc-1']], 0);
    expect(both.routesFor(a).map((r) => r.key)).toEqual(['own', '/']);
    // Without a tree, every rule is its own route, with or without channels (as before the tree).
    const alone = new AlertRouting(new Map([[warning.id, warning]]), undefined);
    const [w] = fire(warning, [], [['calc', 'calc-1']], 0);
    expect(alone.routesFor(w).map((r) => r.key)).toEqual(['ticket']);
  });

  it('refuses matchers on the root, a route of another name and a bad matcher, naming each', () => {
    const bad = parseRouteTree({
      name: 'other',
      matchers: [{ label: 'rule', value: 'x' }],
      routes: [{ matchers: [{ label: 'engine', op: '=~', value: '(' }] }],
    });
    const errors = bad.ok ? '' : bad.errors.join('\n');
    expect(errors).toMatch(/name.*one entry, named root/);
    expect(errors).toMatch(/routes.*0.*matchers.*0.*value.*not a valid regular expression/);
    const rooted = parseRouteTree({
      name: 'root',
      matchers: [{ label: 'rule', value: 'x' }],
      continue: true,
    });
    const rootErrors = rooted.ok ? '' : rooted.errors.join('\n');
    expect(rootErrors).toMatch(/matchers.*no matchers/);
    expect(rootErrors).toMatch(/continue.*not on the root/);
  });

  it('waits group_wait, batches changes per group_interval, repeats per repeat_interval, batches the resolve', () => {
    const r = rule({ id: 'down' });
    const routing2 = new AlertRouting(
      new Map([[r.id, r]]),
      tree({ channels: ['ops'], groupBy: ['engine'] }), // Alertmanager's defaults: 30 s, 5 min, 4 h
    );
    let alerts: Alert[] = [];
    let log = new Map<string, GroupState>();
    const sent: [number, Notification][] = [];
    const at = (now: number, down: [string, string][]) => {
      alerts = fire(r, alerts, down, now);
      const plan = planNotifications(routing2, alerts, log, [], now);
      log = plan.log;
      for (const n of plan.notifications) sent.push([now, n]);
    };
    const one: [string, string][] = [['calc', 'calc-1']];
    const two: [string, string][] = [...one, ['calc', 'calc-2']];
    at(0, one);
    at(29_000, one);
    expect(sent).toEqual([]);
    at(30_000, one); // group_wait
    expect(sent.map(([t, n]) => [t, n.status, n.alerts.length, n.channels])).toEqual([
      [30_000, 'firing', 1, ['ops']],
    ]);
    at(60_000, two); // joins: batched until group_interval after the last notification
    at(329_000, two);
    expect(sent).toHaveLength(1);
    at(330_000, two);
    expect(sent.map(([t, n]) => [t, n.alerts.length])).toEqual([
      [30_000, 1],
      [330_000, 2],
    ]);
    at(400_000, []); // both resolve: the resolve waits for the next interval too
    at(629_000, []);
    expect(sent).toHaveLength(2);
    at(630_000, []);
    expect(sent[2][1]).toMatchObject({ status: 'resolved' });
    expect(sent[2][1].alerts.map((a) => a.state)).toEqual(['resolved', 'resolved']);
    expect(log.size).toBe(0);

    // Unchanged and firing: told again after repeat_interval (4 h), not before.
    at(700_000, one);
    at(730_000, one);
    expect(sent).toHaveLength(4);
    at(730_000 + 4 * 3_600_000 - 1, one);
    expect(sent).toHaveLength(4);
    at(730_000 + 4 * 3_600_000, one);
    expect(sent).toHaveLength(5);
  });

  it('holds a route muted by a time interval, and tells what changed when the mute ends', () => {
    const r = rule({ id: 'down' });
    const night = interval({ intervals: [{ times: [{ start: '00:00', end: '06:00' }] }] });
    const routing3 = new AlertRouting(
      new Map([[r.id, r]]),
      tree({ channels: ['ops'], groupWaitMs: 0, muteTimeIntervals: ['i'] }),
    );
    const muted = (now: number) => () => inTimeInterval(night, now);
    const t0 = Date.UTC(2026, 11, 7, 3, 0); // 03:00 UTC: muted
    const alerts = fire(r, [], [['calc', 'calc-1']], t0);
    let plan = planNotifications(routing3, alerts, new Map(), [], t0, new Set(), muted(t0));
    expect(plan.notifications).toEqual([]);
    const t1 = Date.UTC(2026, 11, 7, 6, 0); // 06:00: the mute is over
    plan = planNotifications(routing3, alerts, plan.log, [], t1, new Set(), muted(t1));
    expect(plan.notifications.map((n) => n.status)).toEqual(['firing']);
  });
});

describe('time intervals (Alertmanager time_intervals)', () => {
  const at = (iso: string) => Date.parse(iso);

  it('reads weekdays, times of day, days of the month (from the end too), months and years in a time zone', () => {
    const office = interval({
      intervals: [
        { weekdays: ['monday:friday'], times: [{ start: '09:00', end: '17:00' }], location: 'Europe/Berlin' },
      ],
    });
    // Monday 7 December 2026, 08:30 UTC is 09:30 in Berlin (UTC+1 in winter).
    expect(inTimeInterval(office, at('2026-12-07T08:30:00Z'))).toBe(true);
    expect(inTimeInterval(office, at('2026-12-07T07:30:00Z'))).toBe(false); // 08:30 in Berlin
    expect(inTimeInterval(office, at('2026-12-07T16:00:00Z'))).toBe(false); // 17:00: the end is exclusive
    expect(inTimeInterval(office, at('2026-12-06T10:00:00Z'))).toBe(false); // a Sunday
    // Summer time: 07:30 UTC is 09:30 in Berlin (UTC+2) on Monday 6 July 2026.
    expect(inTimeInterval(office, at('2026-07-06T07:30:00Z'))).toBe(true);

    const monthEnd = interval({
      intervals: [{ daysOfMonth: ['-2:-1'], months: ['february'], years: ['2028'] }],
    });
    expect(inTimeInterval(monthEnd, at('2028-02-29T12:00:00Z'))).toBe(true); // a leap year's last day
    expect(inTimeInterval(monthEnd, at('2028-02-28T12:00:00Z'))).toBe(true);
    expect(inTimeInterval(monthEnd, at('2028-02-27T12:00:00Z'))).toBe(false);
    expect(inTimeInterval(monthEnd, at('2027-02-28T12:00:00Z'))).toBe(false); // another year

    const either = interval({ intervals: [{ months: ['1:3'] }, { weekdays: ['saturday', 'sunday'] }] });
    expect(inTimeInterval(either, at('2026-02-03T12:00:00Z'))).toBe(true);
    expect(inTimeInterval(either, at('2026-12-06T12:00:00Z'))).toBe(true);
    expect(inTimeInterval(either, at('2026-12-07T12:00:00Z'))).toBe(false);
    expect(inTimeInterval(undefined, at('2026-12-07T12:00:00Z'))).toBe(false); // an unknown name: never
  });

  it('refuses what it cannot read, naming the field', () => {
    const bad = parseTimeInterval({
      name: 'bad',
      intervals: [
        {
          weekdays: ['funday'],
          times: [{ start: '18:00', end: '09:00' }],
          daysOfMonth: ['0'],
          months: ['13'],
          location: 'Mars/Olympus',
        },
      ],
    });
    const errors = bad.ok ? '' : bad.errors.join('\n');
    expect(errors).toMatch(/weekdays.*funday/);
    expect(errors).toMatch(/times.*end.*after start/);
    expect(errors).toMatch(/daysOfMonth.*0/);
    expect(errors).toMatch(/months.*13/);
    expect(errors).toMatch(/location.*time zone/);
  });
});

describe('the flapping guard of event rules', () => {
  it('keeps an event rule firing through flaps with keepFiringForMs, and refuses it on a condition', () => {
    const r = rule({ id: 'down', keepFiringForMs: 60_000 });
    let alerts = fire(r, [], [['calc', 'calc-1']], 0);
    alerts = evaluateRule(r, alerts, [], 20_000); // up for 20 s: still firing
    expect(alerts.map((a) => a.state)).toEqual(['firing']);
    alerts = fire(r, alerts, [['calc', 'calc-1']], 40_000); // down again: the same alert, the same start
    expect(alerts.map((a) => [a.state, a.startedAtMs])).toEqual([['firing', 0]]);
    alerts = evaluateRule(r, alerts, [], 100_000); // up for 60 s: resolved
    expect(alerts.map((a) => a.state)).toEqual(['resolved']);
    const bad = parseAlertRule({
      id: 'x',
      name: 'x',
      severity: 'warning',
      condition: { metric: 'p99Ms', op: '>', threshold: 1 },
      keepFiringForMs: 1_000,
    });
    expect(bad.ok ? '' : bad.errors.join()).toMatch(/keepFiringForMs: for an event rule/);
  });
});
