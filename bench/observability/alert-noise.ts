// npm run bench:alert-noise (and the end of npm run bench:alerts) — how many notifications alerting sends for two noisy failures, on the
// model's own rules (evaluation, inhibition, routing and grouping, the code the leader runs) over a
// simulated clock evaluated every 500 ms, as the leader does:
//
// 1. Flapping: one instance down and up every 20 s for 10 minutes, then up. Baseline: a rule that
//    lists its channel (resolves at once, as before the routing tree). Against: the routing tree's
//    group_interval (Alertmanager's defaults), then with the rule's keepFiringForMs 60 s too.
// 2. Cascade: an engine's 4 instances fail a second apart and the engine with them, for 2 minutes.
//    Baseline: instance_down and engine_unavailable rules with their channel. Against: the tree and an
//    inhibit rule (the engine down mutes its instances' alerts).
// Goals: flapping ≤ 2 notifications, cascade 1 firing notification.
import { type Alert, evaluateRule, type Observation } from '../../src/model/alerts/alert';
import { type GroupState, planNotifications } from '../../src/model/alerts/grouping';
import { type InhibitRule, inhibitions, parseInhibitRule } from '../../src/model/alerts/inhibition';
import { AlertRouting, parseRouteTree, type RouteTree } from '../../src/model/alerts/route';
import { type AlertRule, parseAlertRule } from '../../src/model/alerts/rule';

const STEP_MS = 500;

function parsed<T>(r: { ok: true; value: T } | { ok: false; errors: string[] }): T {
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.value;
}

const rule = (doc: object): AlertRule => parsed(parseAlertRule({ severity: 'critical', ...doc }));

interface Run {
  readonly firing: number;
  readonly resolved: number;
  readonly cpuMs: number;
}

/**
 * Evaluates `rules` every 500 ms from 0 to `untilMs` against `observe(t)` (per rule id), with the tree
 * and inhibit rules given, and counts the notifications planned.
 */
function simulate(
  rules: AlertRule[],
  tree: RouteTree | undefined,
  inhibit: InhibitRule[],
  observe: (rule: string, t: number) => Observation[],
  untilMs: number,
): Run {
  const cpu0 = process.cpuUsage();
  const routing = new AlertRouting(new Map(rules.map((r) => [r.id, r])), tree);
  let alerts: Alert[] = [];
  let log = new Map<string, GroupState>();
  let firing = 0;
  let resolved = 0;
  for (let t = 0; t <= untilMs; t += STEP_MS) {
    for (const r of rules)
      alerts = [
        ...alerts.filter((a) => a.rule !== r.id),
        ...evaluateRule(
          r,
          alerts.filter((a) => a.rule === r.id),
          observe(r.id, t),
          t,
        ),
      ];
    const muted = new Set(inhibitions(alerts, inhibit).keys());
    const plan = planNotifications(routing, alerts, log, [], t, muted);
    log = plan.log;
    for (const n of plan.notifications) {
      if (n.channels.length === 0) continue;
      if (n.status === 'firing') firing++;
      else resolved++;
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return { firing, resolved, cpuMs: (cpu.user + cpu.system) / 1000 };
}

const down = (engine: string, instance: string | null, active: boolean): Observation => ({
  engine,
  instance,
  active,
  value: 1,
  summary: `${engine}/${instance ?? ''} down`,
});

const TREE = parsed(parseRouteTree({ name: 'root', channels: ['ops'], groupBy: ['alertname', 'engine'] }));
const show = (r: Run) => `${r.firing + r.resolved} (${r.firing} firing, ${r.resolved} resolved)`;

export function flapping(): void {
  const FLAP_MS = 10 * 60_000;
  // Down for 20 s, up for 20 s, for 10 minutes; then up for good (10 more minutes to see the end).
  const obs = (_rule: string, t: number) => [
    down('calc', 'calc-2', t < FLAP_MS && Math.floor(t / 20_000) % 2 === 0),
  ];
  const until = FLAP_MS + 10 * 60_000;
  const own = simulate(
    [rule({ id: 'down', name: 'down', event: 'instance_down', channels: ['ops'] })],
    undefined,
    [],
    obs,
    until,
  );
  const tree = simulate([rule({ id: 'down', name: 'down', event: 'instance_down' })], TREE, [], obs, until);
  const guarded = simulate(
    [rule({ id: 'down', name: 'down', event: 'instance_down', keepFiringForMs: 60_000 })],
    TREE,
    [],
    obs,
    until,
  );
  console.log('flapping: one instance down and up every 20 s for 10 minutes (then up), notifications:');
  console.log(`  a rule's own channel (resolves at once)           ${show(own)}`);
  console.log(`  the routing tree (group_wait 30 s, interval 5 min) ${show(tree)}`);
  console.log(`  the tree and keepFiringForMs 60 s                  ${show(guarded)}  (goal ≤ 2)`);
  console.log(
    `  (${own.cpuMs.toFixed(0)} / ${tree.cpuMs.toFixed(0)} / ${guarded.cpuMs.toFixed(0)} ms of CPU for 2,400 evaluations each)`,
  );
}

export function cascade(): void {
  const FAIL_MS = 2 * 60_000;
  const instances = ['calc-1', 'calc-2', 'calc-3', 'calc-4'];
  // Instance i fails at i seconds; the engine is unavailable once all are down; all back at 2 minutes.
  const obs = (r: string, t: number) =>
    r === 'engine-down'
      ? [down('calc', null, t >= 3_000 && t < FAIL_MS)]
      : instances.map((id, i) => down('calc', id, t >= i * 1_000 && t < FAIL_MS));
  const rules = (channels: string[]) => [
    rule({ id: 'instance-down', name: 'instance down', event: 'instance_down', channels }),
    rule({ id: 'engine-down', name: 'engine down', event: 'engine_unavailable', channels }),
  ];
  const mute = parsed(
    parseInhibitRule({
      id: 'engine-mutes-instances',
      sourceMatchers: [{ label: 'alertname', value: 'engine-down' }],
      targetMatchers: [{ label: 'instance', op: '!=', value: '' }],
      equal: ['engine'],
    }),
  );
  const until = FAIL_MS + 10 * 60_000;
  const own = simulate(rules(['ops']), undefined, [], obs, until);
  const inhibitedOnly = simulate(rules(['ops']), undefined, [mute], obs, until);
  const tree = simulate(rules([]), TREE, [mute], obs, until);
  console.log("cascade: an engine's 4 instances fail a second apart, the engine with them, for 2 minutes:");
  console.log(`  rules' own channels                              ${show(own)}`);
  console.log(`  rules' own channels and the inhibit rule         ${show(inhibitedOnly)}`);
  console.log(`  the routing tree and the inhibit rule            ${show(tree)}  (goal: 1 firing)`);
}

// Run alone (npm run bench:alert-noise) or at the end of npm run bench:alerts.
if (process.argv[1]?.endsWith('alert-noise.ts')) {
  flapping();
  cascade();
}
