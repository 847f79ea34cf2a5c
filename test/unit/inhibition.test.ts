import type { Alert } from '../../src/model/alerts/alert';
import { inhibitions, parseInhibitRule, type InhibitRule } from '../../src/model/alerts/inhibition';

const alert = (
  rule: string,
  severity: Alert['severity'],
  engine: string,
  instance: string | null,
  state: Alert['state'] = 'firing',
): Alert => ({
  id: `${rule}:${engine}:${instance ?? '*'}`,
  rule,
  severity,
  engine,
  instance,
  state,
  value: 1,
  summary: '',
  pendingSinceMs: 0,
  startedAtMs: 0,
  lastActiveMs: 0,
  resolvedAtMs: 0,
  acknowledgedAtMs: 0,
  acknowledgedBy: '',
});

const rule = (doc: object): InhibitRule => {
  const parsed = parseInhibitRule(doc);
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return parsed.value;
};

// An engine down mutes its instances' alerts, not another engine's.
const engineDown = rule({
  id: 'engine-down-mutes-instances',
  sourceMatchers: [{ label: 'rule', value: 'engine-down' }],
  targetMatchers: [{ label: 'instance', op: '!=', value: '' }],
  equal: ['engine'],
});

describe('inhibit rules (Alertmanager semantics)', () => {
  it('mutes targets that share the equal labels with a firing source, and nothing else', () => {
    const alerts = [
      alert('engine-down', 'critical', 'calc', null),
      alert('instance-down', 'warning', 'calc', 'calc-1'),
      alert('instance-down', 'warning', 'calc', 'calc-2'),
      alert('instance-down', 'warning', 'echo', 'echo-1'),
    ];
    expect(inhibitions(alerts, [engineDown])).toEqual(
      new Map([
        ['instance-down:calc:calc-1', ['engine-down-mutes-instances']],
        ['instance-down:calc:calc-2', ['engine-down-mutes-instances']],
      ]),
    );
  });

  it("lets the store being unavailable mute what follows from it, and matches on the rule's own labels too", () => {
    const storeDown = rule({
      id: 'store-mutes-all',
      sourceMatchers: [{ label: 'alertname', value: 'store-unavailable' }],
      targetMatchers: [{ label: 'alertname', op: '!=', value: 'store-unavailable' }],
    });
    const fleet = { ...alert('store-unavailable', 'critical', '', null), engine: null };
    const alerts = [
      fleet,
      alert('xds-nack', 'warning', 'calc', null),
      { ...alert('latency', 'warning', 'calc', null), labels: { team: 'db' } },
    ];
    expect([...inhibitions(alerts, [storeDown]).keys()].sort()).toEqual([
      'latency:calc:*',
      'xds-nack:calc:*',
    ]);
    const byTeam = rule({
      id: 'team-db',
      sourceMatchers: [{ label: 'rule', value: 'xds-nack' }],
      targetMatchers: [{ label: 'team', value: 'db' }],
      equal: ['engine'],
    });
    expect([...inhibitions(alerts, [byTeam]).keys()]).toEqual(['latency:calc:*']);
  });

  it('takes only firing or acknowledged sources: pending and resolved ones mute nothing', () => {
    const target = alert('instance-down', 'warning', 'calc', 'calc-1');
    for (const state of ['pending', 'resolved'] as const)
      expect(
        inhibitions([alert('engine-down', 'critical', 'calc', null, state), target], [engineDown]).size,
      ).toBe(0);
    expect(
      inhibitions([alert('engine-down', 'critical', 'calc', null, 'acknowledged'), target], [engineDown])
        .size,
    ).toBe(1);
  });

  it('never lets an alert mute itself, nor two alerts matching both sides mute each other', () => {
    const both = rule({
      id: 'both',
      sourceMatchers: [{ label: 'severity', value: 'critical' }],
      targetMatchers: [{ label: 'severity', op: '=~', value: 'crit.*' }],
      equal: ['engine'],
    });
    const a = alert('x', 'critical', 'calc', 'calc-1');
    const b = alert('y', 'critical', 'calc', 'calc-2');
    expect(inhibitions([a], [both]).size).toBe(0);
    expect(inhibitions([a, b], [both]).size).toBe(0);
  });

  it('matches with =, !=, =~ and !~, regular expressions anchored as Alertmanager anchors them', () => {
    const byRegex = rule({
      id: 're',
      sourceMatchers: [{ label: 'rule', value: 'engine-down' }],
      targetMatchers: [
        { label: 'instance', op: '=~', value: 'calc-[0-9]' },
        { label: 'rule', op: '!~', value: 'engine-.*' },
      ],
    });
    const alerts = [
      alert('engine-down', 'critical', 'calc', null),
      alert('instance-down', 'warning', 'calc', 'calc-1'),
      alert('instance-down', 'warning', 'calc', 'calc-12'),
    ];
    expect([...inhibitions(alerts, [byRegex]).keys()]).toEqual(['instance-down:calc:calc-1']);
  });

  it('refuses a rule without matchers, a malformed label name or a bad regular expression, naming each', () => {
    const bad = parseInhibitRule({
      id: 'bad',
      sourceMatchers: [],
      targetMatchers: [
        { label: '1colour', value: 'red' },
        { label: 'rule', op: '=~', value: '(' },
      ],
    });
    expect(bad.ok).toBe(false);
    const errors = bad.ok ? [] : bad.errors.join('\n');
    expect(errors).toMatch(/sourceMatchers/);
    expect(errors).toMatch(/targetMatchers\.0\.label|targetMatchers\[0\]\.label/);
  });

  it('names a regular expression that does not compile', () => {
    const bad = parseInhibitRule({
      id: 'bad-re',
      sourceMatchers: [{ label: 'rule', value: 'engine-down' }],
      targetMatchers: [{ label: 'instance', op: '=~', value: '(' }],
    });
    expect(bad.ok ? '' : bad.errors.join('; ')).toMatch(
      /targetMatchers.*value.*not a valid regular expression/,
    );
  });
});
