import { type ActionRecord, type FleetFacts, planActions } from '../../src/model/alerts/action-plan';
import { type Alert, evaluateRule, type Observation } from '../../src/model/alerts/alert';
import { type AlertRule, parseAlertRule } from '../../src/model/alerts/rule';

function rule(actions: object[], id = 'down'): AlertRule {
  const parsed = parseAlertRule({ id, name: id, severity: 'critical', event: 'instance_down', actions });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.value;
}

const obs = (instance: string, active = true): Observation => ({
  engine: 'calc',
  instance,
  active,
  value: 1,
  summary: `calc/${instance} down`,
});

/** Four healthy instances unless said otherwise; a managed engine at 3 of 1..5 replicas. */
const facts = (healthy = 4, replicas = { current: 3, min: 1, max: 5 }): FleetFacts => ({
  healthy: () => ({ healthy, instanceHealthy: false }),
  replicas: () => replicas,
});

/** Alert actions' rules over a fake clock: what each guard does, no cluster. */
describe('alert actions, planned (pure)', () => {
  const run = (
    r: AlertRule,
    down: string[],
    was: { alerts: Alert[]; records: ActionRecord[] },
    now: number,
    f = facts(),
    approvals = new Map<string, string>(),
  ) => {
    const alerts = evaluateRule(
      r,
      was.alerts,
      ['calc-1', 'calc-2', 'calc-3'].map((i) => obs(i, down.includes(i))),
      now,
    );
    const records = planActions(new Map([[r.id, r]]), alerts, was.records, approvals, f, now);
    return { alerts, records };
  };

  it('drains the instance once per firing, and undoes it when the alert resolves', () => {
    const r = rule([{ type: 'drain', undoOnResolve: true }]);
    let s = run(r, ['calc-2'], { alerts: [], records: [] }, 0);
    expect(s.records.map((x) => [x.type, x.instance, x.state, x.reason])).toEqual([
      ['drain', 'calc-2', 'running', 'drain calc/calc-2'],
    ]);
    s = { ...s, records: s.records.map((x) => ({ ...x, state: 'done' as const, doneAtMs: 1 })) };
    s = run(r, ['calc-2'], s, 1_000); // still firing: nothing new
    expect(s.records.map((x) => x.state)).toEqual(['done']);
    s = run(r, [], s, 2_000); // resolved: undo
    expect(s.records.map((x) => x.state)).toEqual(['undoing']);
  });

  it('refuses a drain below the healthy floor and past the hourly limit, saying why', () => {
    const floor = rule([{ type: 'drain', minHealthy: 4 }]);
    const f: FleetFacts = {
      healthy: () => ({ healthy: 4, instanceHealthy: true }),
      replicas: () => undefined,
    };
    const refused = run(floor, ['calc-1'], { alerts: [], records: [] }, 0, f).records[0];
    expect(refused).toMatchObject({
      state: 'refused',
      reason: 'would leave 3 healthy instances of calc, below minHealthy 4',
    });

    const limited = rule([{ type: 'drain', maxPerHour: 2 }]);
    const s = run(limited, ['calc-1', 'calc-2', 'calc-3'], { alerts: [], records: [] }, 0);
    expect(s.records.map((x) => x.state)).toEqual(['running', 'running', 'refused']);
    expect(s.records[2].reason).toBe(
      'rate limit: 2 actions of rule down on calc in the last hour (maxPerHour 2)',
    );
    // A record from an earlier evaluation counts once.
    const one = run(limited, ['calc-1'], { alerts: [], records: [] }, 0);
    const next = run(limited, ['calc-1', 'calc-2'], one, 1_000);
    expect(next.records.map((x) => x.state)).toEqual(['running', 'running']);
    // An hour on, the limit has room again.
    const later = run(limited, [], s, 1_000);
    const again = run(limited, ['calc-3'], { alerts: later.alerts, records: later.records }, 3_600_001);
    expect(again.records.filter((x) => x.state === 'running').map((x) => x.instance)).toEqual([
      'calc-1',
      'calc-2',
      'calc-3',
    ]);
  });

  it('only says what it would do in a dry run', () => {
    const r = rule([{ type: 'drain', dryRun: true }]);
    const s = run(r, ['calc-1'], { alerts: [], records: [] }, 0);
    expect(s.records[0]).toMatchObject({ state: 'dry-run', reason: 'dry run: would drain calc/calc-1' });
  });

  it('waits for an approval, takes the action once approved, and lets it lapse otherwise', () => {
    const r = rule([{ type: 'drain', approveWithinMs: 60_000 }]);
    let s = run(r, ['calc-1', 'calc-2'], { alerts: [], records: [] }, 0);
    expect(s.records.map((x) => x.state)).toEqual(['awaiting-approval', 'awaiting-approval']);
    s = run(r, ['calc-1', 'calc-2'], s, 30_000, facts(), new Map([[s.records[0].id, 'alice']]));
    expect(s.records.map((x) => [x.state, x.approvedBy])).toEqual([
      ['running', 'alice'],
      ['awaiting-approval', undefined],
    ]);
    s = run(r, ['calc-1', 'calc-2'], s, 60_000);
    expect(s.records[1]).toMatchObject({
      state: 'lapsed',
      reason: 'drain calc/calc-2: no approval within 60000 ms',
    });
  });

  it('scales within the runtime bounds and its own, and remembers where it came from', () => {
    const up = rule([{ type: 'scale', replicasBy: 5, maxReplicas: 4, undoOnResolve: true }]);
    const s = run(up, ['calc-1'], { alerts: [], records: [] }, 0);
    expect(s.records[0]).toMatchObject({
      state: 'running',
      target: 4,
      previous: 3,
      reason: 'scale calc to 4 replicas',
    });
    const atTop = run(
      up,
      ['calc-1'],
      { alerts: [], records: [] },
      0,
      facts(4, { current: 4, min: 1, max: 4 }),
    );
    expect(atTop.records[0]).toMatchObject({
      state: 'refused',
      reason: 'calc is at its bound (4 replicas, 1..4)',
    });
    const unmanaged: FleetFacts = {
      healthy: () => ({ healthy: 4, instanceHealthy: true }),
      replicas: () => undefined,
    };
    expect(run(up, ['calc-1'], { alerts: [], records: [] }, 0, unmanaged).records[0].reason).toBe(
      'calc has no managed replicas to scale',
    );
  });

  it('refuses an action with nothing to act on, and a rule whose action is malformed', () => {
    const fleet = parseAlertRule({
      id: 'f',
      name: 'f',
      severity: 'critical',
      event: 'instance_down',
      scope: 'fleet',
      actions: [{ type: 'pause-rollout' }],
    });
    if (!fleet.ok) throw new Error('');
    const alerts = evaluateRule(fleet.value, [], [{ ...obs('calc-1'), engine: null }], 0);
    const records = planActions(new Map([['f', fleet.value]]), alerts, [], new Map(), facts(), 0);
    expect(records[0]).toMatchObject({
      state: 'refused',
      reason: 'a fleet-wide alert names no engine to act on',
    });
    const bad = parseAlertRule({
      id: 'b',
      name: 'b',
      severity: 'critical',
      event: 'instance_down',
      actions: [{ type: 'scale' }, { type: 'pin-weight' }, { type: 'drain', weight: 3 }],
    });
    const errors = bad.ok ? '' : bad.errors.join('\n');
    expect(errors).toMatch(/actions\.0\.replicasBy|actions\[0\]\.replicasBy/);
    expect(errors).toMatch(/actions.*1.*weight: required for pin-weight/);
    expect(errors).toMatch(/actions.*2.*weight: only for pin-weight/);
  });
});
