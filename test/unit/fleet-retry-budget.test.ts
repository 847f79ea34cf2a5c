import { circuitResource } from '../../src/control-plane/circuits/circuit-module';
import { FleetRetryTally } from '../../src/control-plane/retry-budget/fleet-retry-tally';
import { routerReport } from '../helpers/loads';
import { unitPlane } from '../helpers/plane';

const calls = (engine: string, n: number, retries = 0) => ({ engine, calls: n, retries, retriesRefused: 0 });

describe('fleet retry budget: the control plane sums every router', () => {
  it('sums calls and retries per engine over the last 10 s of every router’s reports', () => {
    const t = new FleetRetryTally();
    for (const node of ['r1', 'r2', 'r3'])
      for (let at = 1_000; at <= 10_000; at += 2_000) t.record(node, [calls('calc', 100, 30)], 2_000, at);
    t.record('r4', [calls('other', 5)], 2_000, 10_000);
    const s = t.summary('calc', 10_500);
    expect(s).toMatchObject({ routers: 3, callsPerSecond: 150, retriesPerSecond: 45, retryRatio: 0.3 });
    expect(t.budget('calc', 10_500)).toEqual({ routers: 3, fleetCallsPerSecond: 150 });
    // A router that stopped reporting leaves the sums after the window.
    t.record('r1', [calls('calc', 100)], 2_000, 20_000);
    expect(t.summary('calc', 20_500)).toMatchObject({ routers: 1, callsPerSecond: 50 });
    expect(t.budget('calc', 40_000)).toBeUndefined();
  });

  it('keeps what routers have while the fleet rate moves less than 10 %, so that noise pushes nothing', () => {
    const t = new FleetRetryTally();
    t.record('r1', [calls('calc', 200)], 2_000, 1_000);
    const published = t.budget('calc', 1_500)!;
    expect(published).toEqual({ routers: 1, fleetCallsPerSecond: 100 });
    t.record('r1', [calls('calc', 212)], 2_000, 3_000);
    expect(t.budget('calc', 3_500, published)).toBe(published); // 103/s
    t.record('r1', [calls('calc', 400)], 2_000, 5_000);
    expect(t.budget('calc', 5_500, published)).toEqual({ routers: 1, fleetCallsPerSecond: 140 });
    t.record('r2', [calls('calc', 1)], 2_000, 5_000);
    expect(t.budget('calc', 5_500, published)!.routers).toBe(2);
  });

  it('is shared by the leader and sent to routers with the engine’s circuits', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const plane = await unitPlane({ reportIntervalMs: 1_000 });
    try {
      await plane.start();
      await plane.admin.specs.create(
        { name: 'calc', instances: [{ id: 'c1', address: '127.0.0.1:1' }] },
        { actor: 'alice', via: 'rest', requestId: '' },
      );
      const changed: string[][] = [];
      plane.ctx.bus.on('circuits.changed', (e) => changed.push([...e.engines]));
      for (const node of ['r1', 'r2'])
        plane.ctx.bus.emit('report.received', {
          ...routerReport(Date.now(), [], node, 1_000),
          engineCalls: [calls('calc', 40, 8)],
        });
      await jest.advanceTimersByTimeAsync(1_100);
      expect(circuitResource(plane.ctx.store, 'calc').retryBudget).toEqual({
        routers: 2,
        fleetCallsPerSecond: 80,
      });
      expect(changed).toContainEqual(['calc']);
      expect(plane.retryBudget.retryBudget.summary('calc')).toMatchObject({ retryRatio: 0.2 });
      const ratio = plane.retryBudget.retryBudget.summary('calc').retryRatio;
      // Noise, and a real change of rate within the window, push nothing; a router joining does, at once.
      const report = (node: string, n: number) =>
        plane.ctx.bus.emit('report.received', {
          ...routerReport(Date.now(), [], node, 1_000),
          engineCalls: [calls('calc', n, 0)],
        });
      changed.length = 0;
      report('r1', 42);
      report('r2', 42);
      await jest.advanceTimersByTimeAsync(1_000);
      report('r1', 200);
      report('r2', 200);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(changed).toEqual([]);
      report('r3', 1);
      await jest.advanceTimersByTimeAsync(1_000);
      expect(changed).toEqual([['calc']]);
      expect(circuitResource(plane.ctx.store, 'calc').retryBudget?.routers).toBe(3);
      const metrics = await plane.ctx.metrics.registry.metrics();
      expect(metrics).toMatch(/^nerve_fleet_retry_ratio\{engine="calc",replica="[\w-]+"\} 0\.\d+$/m);
      expect(ratio).toBe(0.2);
      expect(metrics).toMatch(/^nerve_fleet_routers\{engine="calc",replica="[\w-]+"\} 3$/m);
    } finally {
      await plane.stop();
      jest.useRealTimers();
    }
  });
});
