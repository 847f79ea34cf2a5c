import { Registry } from 'prom-client';
import { AlertModule } from '../../src/control-plane/alerts/alert-module';
import { Notifier } from '../../src/control-plane/alerts/notifier';
import type {
  EngineHealthView,
  HealthReport,
  InstanceHealthView,
} from '../../src/control-plane/views/engine-views';
import { EventBus } from '../../src/control-plane/kernel/events';
import { LeaderElection } from '../../src/control-plane/leader/leader-election';
import type { FleetReads } from '../../src/control-plane/views/fleet-reads';
import { ALERT_RULE_KIND, INHIBIT_RULE_KIND } from '../../src/model/kinds/config-kinds';
import { alertView } from '../../src/control-plane/alerts/alert-views';
import type { AlertActuator } from '../../src/control-plane/alerts/alert-actions';
import { toProtoAlert } from '../../src/control-plane/alerts/alert-grpc';
import { MemoryStore } from '../../src/store/memory-store';
import { logger } from '../helpers/cluster';

const instance = (id: string, health: InstanceHealthView['health']): InstanceHealthView => ({
  id,
  address: '127.0.0.1:1',
  version: 'v1',
  health,
  reasons: health === 'healthy' ? [] : [{ code: 'probe_failing', message: 'probe failed' }],
  consecutiveFailures: health === 'healthy' ? 0 : 3,
  lastError: '',
  lastCheckMs: 0,
  lastCheckAt: null,
  lastCheckLatencyMs: 0,
});

/** A fleet the test describes, read as alerting reads every fleet: through FleetReads. */
function fleet(instances: () => InstanceHealthView[]): FleetReads {
  const engine = (): EngineHealthView =>
    ({
      name: 'calc',
      status: 'healthy',
      rawStatus: 'healthy',
      healthyInstances: instances().filter((i) => i.health === 'healthy').length,
      totalInstances: instances().length,
      instances: instances(),
    }) as EngineHealthView;
  return {
    health: async (): Promise<HealthReport> => ({ status: 'healthy', engines: [engine()] }),
    instanceHealth: () => 'healthy',
    healthHistoryNow: () => [],
    summary: () => ({ windowMs: 60_000, overall: undefined, engines: [] }) as never,
    circuits: async () => [],
  };
}

/** Alerting on a MemoryStore whose replica leads at once, over the instances `instances` describes. */
async function alerting(instances: () => InstanceHealthView[], shared?: MemoryStore, replica = 'a') {
  const store = shared ?? new MemoryStore();
  if (!shared) await store.start();
  const bus = new EventBus(() => undefined);
  const leader = new LeaderElection(store.lease, replica, bus, logger, {
    ttlMs: 15_000,
    renewMs: 5_000,
    retryMs: 2_000,
  });
  await leader.start();
  const notifier = new Notifier(
    new Registry(),
    logger,
    () => '',
    (n, id, a, final) => module.onAttempt(n, id, a, final),
  );
  const module: AlertModule = new AlertModule(store, fleet(instances), bus, leader, notifier, logger, 1_000);
  return { store, leader, module };
}

/**
 * Alerting's rules run over MemoryStore and a fake clock, fed by a FleetReads the test controls: no
 * cluster, no probes, no routers. What the e2e suite shows with real instances failing, shown here in
 * milliseconds of test time.
 */
describe('alert module over MemoryStore (fake clock)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('fires for an instance down, keeps one alert while it stays down, and resolves it when it is back', async () => {
    let calc2: InstanceHealthView['health'] = 'healthy';
    const { store, leader, module } = await alerting(() => [
      instance('calc-1', 'healthy'),
      instance('calc-2', calc2),
    ]);
    await store.commit({
      actor: 'test',
      summary: 'rule',
      ops: [
        {
          op: 'put',
          kind: ALERT_RULE_KIND,
          name: 'down',
          value: {
            id: 'down',
            name: 'instance down',
            severity: 'critical',
            scope: 'engine',
            event: 'instance_down',
            cooldownMs: 14_400_000,
            channels: [],
            groupBy: ['rule', 'engine'],
            groupWaitMs: 1_000,
            enabled: true,
          },
        },
      ],
      expect: new Map(),
    });
    module.start();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(module.current().alerts).toEqual([]);

    calc2 = 'unhealthy';
    await module.evaluateNow();
    const firing = module.current().alerts;
    expect(firing.map((a) => [a.id, a.state])).toEqual([['down:calc:calc-2', 'firing']]);

    await jest.advanceTimersByTimeAsync(5_000); // evaluations go on; still one alert, same start
    expect(module.current().alerts.map((a) => [a.id, a.state, a.startedAtMs])).toEqual([
      ['down:calc:calc-2', 'firing', firing[0].startedAtMs],
    ]);

    calc2 = 'healthy';
    await jest.advanceTimersByTimeAsync(1_000);
    expect(module.current().alerts.map((a) => [a.id, a.state])).toEqual([['down:calc:calc-2', 'resolved']]);
    module.stop();
    await leader.stop();
  });

  it('notifies the source of an inhibit rule and holds back the alerts it mutes, listing them with inhibitedBy', async () => {
    let calc2: InstanceHealthView['health'] = 'unhealthy';
    const { store, leader, module } = await alerting(() => [
      instance('calc-1', 'healthy'),
      instance('calc-2', calc2),
    ]);
    const rule = (id: string, severity: string) => ({
      op: 'put' as const,
      kind: ALERT_RULE_KIND,
      name: id,
      value: {
        id,
        name: id,
        severity,
        scope: 'engine',
        event: 'instance_down',
        cooldownMs: 14_400_000,
        channels: [],
        groupBy: ['rule', 'engine'],
        groupWaitMs: 0,
        enabled: true,
      },
    });
    await store.commit({
      actor: 'test',
      summary: 'rules and an inhibition',
      ops: [
        rule('page', 'critical'),
        rule('ticket', 'warning'),
        {
          op: 'put',
          kind: INHIBIT_RULE_KIND,
          name: 'critical-mutes-warning',
          value: {
            id: 'critical-mutes-warning',
            sourceMatchers: [{ label: 'severity', op: '=', value: 'critical' }],
            targetMatchers: [{ label: 'severity', op: '=', value: 'warning' }],
            equal: ['engine', 'instance'],
            comment: '',
          },
        },
      ],
      expect: new Map(),
    });
    module.start();
    await jest.advanceTimersByTimeAsync(1_000);
    const state = module.current();
    expect(state.alerts.map((a) => [a.id, a.state]).sort()).toEqual([
      ['page:calc:calc-2', 'firing'],
      ['ticket:calc:calc-2', 'firing'],
    ]);
    expect(state.inhibited).toEqual({ 'ticket:calc:calc-2': ['critical-mutes-warning'] });
    // Only the source's group was told; the muted alert is listed, with what mutes it.
    expect(state.log.map((g) => [g.rule, g.notified])).toEqual([['page', ['page:calc:calc-2']]]);
    const ticket = state.alerts.find((a) => a.rule === 'ticket')!;
    expect(alertView(ticket, state).inhibitedBy).toEqual(['critical-mutes-warning']);

    // The source resolves: the inhibition lifts and the alert it held back is notified.
    await store.commit({
      actor: 'test',
      summary: 'page rule off',
      ops: [{ ...rule('page', 'critical'), value: { ...rule('page', 'critical').value, enabled: false } }],
      expect: new Map(),
    });
    await module.evaluateNow();
    const after = module.current();
    expect(after.inhibited).toEqual({});
    expect(after.log.find((g) => g.rule === 'ticket')?.notified).toEqual(['ticket:calc:calc-2']);
    calc2 = 'healthy';
    module.stop();
    await leader.stop();
  });

  it('takes an alert action once, through a leader failover, and undoes it when the alert resolves', async () => {
    let calc2: InstanceHealthView['health'] = 'unhealthy';
    const fleetOf = () => [
      instance('calc-1', 'healthy'),
      instance('calc-2', calc2),
      instance('calc-3', 'healthy'),
    ];
    const a = await alerting(fleetOf);
    const taken: string[] = [];
    const actuator: AlertActuator = {
      drain: async (e, i, ctx) => void taken.push(`drain ${e}/${i} by ${ctx.actor}`),
      undrain: async (e, i, ctx) => void taken.push(`undrain ${e}/${i} by ${ctx.actor}`),
      pauseRollout: async () => 'r1',
      resumeRollout: async () => undefined,
      replicas: () => undefined,
      scale: async () => undefined,
      pinWeight: async () => undefined,
      unpinWeight: async () => undefined,
      version: () => 42,
      event: (_e, _i, message) => void taken.push(`event: ${message}`),
    };
    a.module.bindActuator(actuator);
    await a.store.commit({
      actor: 'test',
      summary: 'rule with an action',
      ops: [
        {
          op: 'put',
          kind: ALERT_RULE_KIND,
          name: 'down',
          value: {
            id: 'down',
            name: 'down',
            severity: 'critical',
            scope: 'engine',
            event: 'instance_down',
            cooldownMs: 14_400_000,
            channels: [],
            groupBy: ['rule', 'engine'],
            groupWaitMs: 0,
            enabled: true,
            labels: {},
            actions: [{ type: 'drain', maxPerHour: 3, minHealthy: 1, dryRun: false, undoOnResolve: true }],
          },
        },
      ],
      expect: new Map(),
    });
    a.module.start();
    await jest.advanceTimersByTimeAsync(1_000);
    expect(taken).toEqual(['drain calc/calc-2 by alert:down', 'event: alert down: drain calc/calc-2']);
    const alert = a.module.current().alerts.find((x) => x.state === 'firing')!;
    expect(alertView(alert, a.module.current()).actions).toEqual([
      expect.objectContaining({ type: 'drain', state: 'done', configVersion: 42 }),
    ]);
    // Admin gRPC shows the same.
    expect(toProtoAlert(alertView(alert, a.module.current())).actions).toEqual([
      expect.objectContaining({ index: 0, type: 'drain', state: 'done', configVersion: 42 }),
    ]);

    // The leader goes; another replica on the same store takes over and evaluates: nothing taken again.
    a.module.stop();
    await a.leader.stop();
    const b = await alerting(fleetOf, a.store, 'b');
    expect(b.leader.leading).toBe(true);
    b.module.bindActuator(actuator);
    b.module.start();
    await jest.advanceTimersByTimeAsync(3_000);
    expect(taken.filter((t) => t.startsWith('drain'))).toHaveLength(1);

    // It resolves: the new leader undoes what the old one did.
    calc2 = 'healthy';
    await jest.advanceTimersByTimeAsync(1_000);
    expect(taken.filter((t) => !t.startsWith('event'))).toEqual([
      'drain calc/calc-2 by alert:down',
      'undrain calc/calc-2 by alert:down',
    ]);
    expect(b.module.current().actions?.map((r) => r.state)).toEqual(['undone']);
    b.module.stop();
    await b.leader.stop();
  });
});
