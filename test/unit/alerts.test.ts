import { acknowledge, type Alert, evaluateRule, type Observation } from '../../src/model/alerts/alert';
import { type GroupState, planNotifications } from '../../src/model/alerts/grouping';
import { type AlertRule, parseAlertRule } from '../../src/model/alerts/rule';
import type { Silence } from '../../src/model/alerts/silence';

function rule(input: object): AlertRule {
  const r = parseAlertRule({ id: 'r', name: 'rule', severity: 'error', channels: ['hook'], ...input });
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.value;
}

const obs = (
  active: boolean,
  engine: string | null = 'calc',
  instance: string | null = null,
  value = 1,
): Observation => ({
  engine,
  instance,
  active,
  value,
  summary: `value ${value}`,
});

describe('alert rules', () => {
  it('validates: a condition or an event, known metrics and events, names', () => {
    expect(parseAlertRule({ id: 'a', name: 'a', severity: 'error' })).toEqual({
      ok: false,
      errors: ['a rule has either a condition or an event'],
    });
    const bad = parseAlertRule({ id: 'A!', name: 'a', severity: 'loud', event: 'nope' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.errors.join('\n')).toMatch(
      /id: must be 1-63 lowercase[\s\S]*severity: [\s\S]*event: /,
    );
    const ok = rule({ condition: { metric: 'errorRate', op: '>', threshold: 0.05, forMs: 60_000 } });
    expect(ok).toMatchObject({ cooldownMs: 14_400_000, groupBy: ['rule', 'engine'], groupWaitMs: 1_000 });
  });
});

describe('evaluating a rule: pending, firing, resolved', () => {
  const r = rule({
    condition: { metric: 'errorRate', op: '>', threshold: 0.05, forMs: 30_000, keepFiringForMs: 10_000 },
  });

  it('is pending for forMs, then fires; keeps firing for keepFiringForMs after it stops holding; then resolves', () => {
    let alerts: Alert[] = [];
    alerts = evaluateRule(r, alerts, [obs(true)], 0);
    expect(alerts.map((a) => a.state)).toEqual(['pending']);
    alerts = evaluateRule(r, alerts, [obs(true)], 29_999);
    expect(alerts[0].state).toBe('pending');
    alerts = evaluateRule(r, alerts, [obs(true)], 30_000);
    expect(alerts[0]).toMatchObject({ state: 'firing', startedAtMs: 30_000 });
    alerts = evaluateRule(r, alerts, [obs(false)], 35_000);
    expect(alerts[0].state).toBe('firing'); // keep firing: last held at 30 s
    alerts = evaluateRule(r, alerts, [obs(true)], 38_000); // holds again: still the same alert
    expect(alerts[0]).toMatchObject({ state: 'firing', startedAtMs: 30_000 });
    alerts = evaluateRule(r, alerts, [obs(false)], 47_999);
    expect(alerts[0].state).toBe('firing');
    alerts = evaluateRule(r, alerts, [obs(false)], 48_000);
    expect(alerts[0]).toMatchObject({ state: 'resolved', resolvedAtMs: 48_000 });
  });

  it('forgets a pending alert that stops holding before it fired, and keeps an acknowledgement until the resolve', () => {
    let alerts = evaluateRule(r, [], [obs(true)], 0);
    alerts = evaluateRule(r, alerts, [obs(false)], 1_000);
    expect(alerts).toEqual([]);
    const now = rule({ condition: { metric: 'errorRate', op: '>', threshold: 0 } });
    alerts = evaluateRule(now, [], [obs(true)], 0);
    expect(alerts[0].state).toBe('firing');
    alerts = [acknowledge(alerts[0], 'alice', 5)];
    alerts = evaluateRule(now, alerts, [obs(true)], 10);
    expect(alerts[0]).toMatchObject({ state: 'acknowledged', acknowledgedBy: 'alice', acknowledgedAtMs: 5 });
    alerts = evaluateRule(now, alerts, [obs(false)], 20);
    expect(alerts[0].state).toBe('resolved');
  });
});

describe('grouping, repeats, silences', () => {
  const r = rule({ event: 'instance_down', groupWaitMs: 1_000, cooldownMs: 60_000 });
  const rules = new Map([[r.id, r]]);
  const instances = Array.from({ length: 50 }, (_, i) => `calc-${i}`);

  function step(
    alerts: Alert[],
    log: Map<string, GroupState>,
    down: string[],
    now: number,
    silences: Silence[] = [],
  ) {
    const next = evaluateRule(
      r,
      alerts,
      instances.map((i) => obs(down.includes(i), 'calc', i)),
      now,
    );
    const plan = planNotifications(rules, next, log, silences, now);
    return { alerts: next, log: plan.log, notifications: plan.notifications };
  }

  it('tells fifty instances going down as one notification, and their return as one resolve, at once', () => {
    let s = step([], new Map(), [], 0);
    // They fail within one probe round (900 ms apart at most).
    s = step(s.alerts, s.log, instances.slice(0, 20), 100);
    expect(s.notifications).toEqual([]);
    s = step(s.alerts, s.log, instances, 1_000);
    expect(s.notifications).toEqual([]);
    s = step(s.alerts, s.log, instances, 1_100);
    expect(s.notifications).toHaveLength(1);
    expect(s.notifications[0]).toMatchObject({
      status: 'firing',
      seq: 1,
      labels: { rule: 'r', engine: 'calc' },
    });
    expect(s.notifications[0].alerts).toHaveLength(50);
    s = step(s.alerts, s.log, instances, 30_000);
    expect(s.notifications).toEqual([]);
    // Some come back: an update at once (resolved ones listed); all back: the resolve at once.
    s = step(s.alerts, s.log, instances.slice(10), 40_000);
    expect(
      s.notifications.map((n) => [n.status, n.alerts.filter((a) => a.state === 'resolved').length]),
    ).toEqual([['firing', 10]]);
    s = step(s.alerts, s.log, [], 41_000);
    expect(s.notifications).toHaveLength(1);
    expect(s.notifications[0]).toMatchObject({ status: 'resolved', seq: 3 });
    expect(s.notifications[0].alerts.every((a) => a.state === 'resolved')).toBe(true);
    expect(s.log.size).toBe(0);
    s = step(s.alerts, s.log, [], 42_000);
    expect(s.notifications).toEqual([]);
  });

  it('repeats every cooldown until acknowledged; the resolve still goes out', () => {
    let s = step([], new Map(), ['calc-1'], 0);
    s = step(s.alerts, s.log, ['calc-1'], 1_000);
    expect(s.notifications).toHaveLength(1);
    s = step(s.alerts, s.log, ['calc-1'], 60_999);
    expect(s.notifications).toEqual([]);
    s = step(s.alerts, s.log, ['calc-1'], 61_000);
    expect(s.notifications.map((n) => n.seq)).toEqual([2]);
    const acked = s.alerts.map((a) => (a.state === 'firing' ? acknowledge(a, 'bob', 62_000) : a));
    s = step(acked, s.log, ['calc-1'], 200_000);
    expect(s.notifications).toEqual([]);
    s = step(s.alerts, s.log, [], 201_000);
    expect(s.notifications.map((n) => n.status)).toEqual(['resolved']);
  });

  it('does not notify silenced alerts, and notifies them once the silence ends', () => {
    const silence: Silence = {
      id: 's',
      matchers: [{ label: 'instance', value: 'calc-1' }],
      endsAtMs: 10_000,
      createdBy: 'carol',
      comment: 'maintenance',
    };
    let s = step([], new Map(), ['calc-1'], 0, [silence]);
    s = step(s.alerts, s.log, ['calc-1'], 5_000, [silence]);
    expect(s.notifications).toEqual([]);
    s = step(s.alerts, s.log, ['calc-1'], 10_000, [silence]);
    expect(s.notifications).toHaveLength(1);
  });
});
