import { parseConfigText } from '../../src/config/config-file';
import { acknowledge, type Alert, evaluateRule, type Observation } from '../../src/model/alerts/alert';
import { type GroupState, planNotifications } from '../../src/model/alerts/grouping';
import { AlertRouting } from '../../src/model/alerts/route';
import { type AlertRule, parseAlertRule } from '../../src/model/alerts/rule';
import type { Silence } from '../../src/model/alerts/silence';
import type { EngineHealthView } from '../../src/control-plane/views/engine-views';
import { type FleetView, observe } from '../../src/control-plane/alerts/observe';
import { type CallStats, NO_CALLS } from '../../src/control-plane/calls/call-accumulator';

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
    const plan = planNotifications(new AlertRouting(rules, undefined), next, log, silences, now);
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

describe('what rules observe of the fleet', () => {
  const stats = (over: Partial<CallStats> = {}): CallStats => ({ ...NO_CALLS, ...over });
  const health = (name: string, statuses: string[]): EngineHealthView =>
    ({
      name,
      status: 'degraded',
      rawStatus: 'degraded',
      healthyInstances: statuses.filter((s) => s === 'healthy').length,
      totalInstances: statuses.length,
      instances: statuses.map((h, i) => ({
        id: `${name}-${i + 1}`,
        health: h,
        reasons: h === 'unhealthy' ? [{ code: 'probe_failing', message: 'health probe failing' }] : [],
      })),
    }) as unknown as EngineHealthView;
  const view = (over: Partial<FleetView> = {}): FleetView => ({
    overall: stats({ requests: 100, errors: 10, errorRate: 0.1 }),
    summaries: new Map([
      [
        'calc',
        {
          name: 'calc',
          namespace: 'default',
          ...stats({ requests: 100, errors: 10, errorRate: 0.1, p99Ms: 80 }),
          instances: [],
          versions: [],
        },
      ],
      ['idle', { name: 'idle', namespace: 'default', ...stats(), instances: [], versions: [] }],
    ]),
    health: new Map([
      ['calc', health('calc', ['healthy', 'unhealthy'])],
      ['idle', health('idle', ['unhealthy'])],
    ]),
    circuits: new Map(),
    store: { backend: 'memory', state: 'ok', version: 1, lagMs: 0 },
    events: [],
    ...over,
  });

  it('checks conditions per engine or over the fleet; latency needs calls', () => {
    const errors = rule({ condition: { metric: 'errorRate', op: '>', threshold: 0.05 } });
    expect(observe(errors, view()).map((o) => [o.engine, o.active])).toEqual([
      ['calc', true],
      ['idle', false],
    ]);
    const latency = rule({ condition: { metric: 'p99Ms', op: '>=', threshold: 0 } });
    expect(observe(latency, view()).map((o) => o.active)).toEqual([true, false]);
    const share = rule({ scope: 'fleet', condition: { metric: 'healthyShare', op: '<', threshold: 0.5 } });
    expect(observe(share, view())).toMatchObject([{ engine: null, active: true, value: 1 / 3 }]);
    const one = rule({ engine: 'calc', condition: { metric: 'healthyInstances', op: '<', threshold: 2 } });
    expect(observe(one, view()).map((o) => [o.engine, o.active, o.summary])).toEqual([
      ['calc', true, 'healthyInstances of calc is 1 (< 2)'],
    ]);
  });

  it('turns events into subjects: instances down, engines without a healthy instance, the store, one-shot events', () => {
    const down = observe(rule({ event: 'instance_down' }), view()).filter((o) => o.active);
    expect(down.map((o) => `${o.engine}/${o.instance}`)).toEqual(['calc/calc-2', 'idle/idle-1']);
    expect(down[0].summary).toBe('calc/calc-2 is down: health probe failing');
    const unavailable = observe(rule({ event: 'engine_unavailable' }), view());
    expect(unavailable.map((o) => [o.engine, o.active])).toEqual([
      ['calc', false],
      ['idle', true],
    ]);
    const store = rule({ event: 'store_unavailable' });
    expect(observe(store, view())[0].active).toBe(false);
    expect(
      observe(
        store,
        view({
          store: { backend: 'redis', state: 'unavailable', reason: 'ECONNREFUSED', version: 1, lagMs: 9 },
        }),
      )[0],
    ).toMatchObject({
      active: true,
      summary: 'configuration store unavailable: ECONNREFUSED',
    });
    const changed = rule({ event: 'config_changed' });
    expect(observe(changed, view())[0].active).toBe(false);
    expect(
      observe(
        changed,
        view({ events: [{ event: 'config_changed', summary: 'version 2 by alice: drain' }] }),
      )[0],
    ).toMatchObject({
      active: true,
      value: 1,
    });
  });
});

describe('alerting in the YAML config file', () => {
  it('takes rules, channels and silences, validated with their paths; refuses duplicates', () => {
    const ok = parseConfigText(
      [
        'alertRules:',
        '  - { id: down, name: instance down, severity: critical, event: instance_down, channels: [hook] }',
        'notificationChannels:',
        '  - { name: hook, type: webhook, url: "http://127.0.0.1:9/hook" }',
        'silences:',
        '  - { id: quiet, matchers: [{ label: engine, value: calc }], endsAt: "2030-01-01T00:00:00Z" }',
      ].join('\n'),
      'nerve.yaml',
    );
    expect(ok.ok && ok.value.entries.map((e) => `${e.kind}/${e.name}`)).toEqual([
      'alert-rules/down',
      'notification-channels/hook',
      'silences/quiet',
    ]);
    const bad = parseConfigText(
      [
        'alertRules:',
        '  - { id: a, name: a, severity: loud, event: instance_down }',
        '  - { id: b, name: b, severity: info, event: instance_down }',
        '  - { id: b, name: b, severity: info, event: instance_down }',
        'notificationChannels:',
        '  - { name: mail, type: email, url: "http://x" }',
      ].join('\n'),
      'nerve.yaml',
    );
    expect(!bad.ok && bad.errors).toEqual([
      expect.stringMatching(/^nerve\.yaml: alertRules\[0\]\.severity: /),
      'nerve.yaml: alertRules[2]: duplicate "b"',
      'nerve.yaml: notificationChannels[0].url: an email channel needs an smtp:// or smtps:// URL',
      'nerve.yaml: notificationChannels[0].to: required for type email',
    ]);
  });
});
