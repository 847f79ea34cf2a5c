import { withTool } from '../helpers/requires';
import { EventBus } from '../../src/control-plane/kernel/events';
import { HistoryModule } from '../../src/control-plane/history/history-module';
import { queryHistory } from '../../src/control-plane/history/history-query';
import { CallWindows } from '../../src/control-plane/calls/call-windows';
import type { EngineSpec } from '../../src/model/engine';
import { parseEngineSpec } from '../../src/model/validate';
import { createLogger } from '../../src/observability/logger';
import { RedisStore } from '../../src/store/redis/redis-store';
import { instanceLoad, routerReport } from '../helpers/loads';
import { hasRedisServer, startRedis, type TestRedis } from '../helpers/redis';

// Needs Debian's redis-server (CI installs it); the memory store's history is covered by unit tests.
const describeRedis = withTool(hasRedisServer(), 'redis-server').describe;

describeRedis('metric history on Redis', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('gives the same answer from two replicas, and a new leader writes on where the last stopped', async () => {
    const parsed = parseEngineSpec({ name: 'calc', instances: [{ id: 'c1', address: '127.0.0.1:1' }] });
    if (!parsed.ok) throw new Error(parsed.errors.join());
    const specs: EngineSpec[] = [parsed.value];
    const a = new RedisStore({ url: redis.url, prefix: 'h:' });
    const b = new RedisStore({ url: redis.url, prefix: 'h:' });
    await a.start();
    await b.start();
    try {
      let now = Date.UTC(2026, 0, 1, 12);
      const windows = new CallWindows(60_000, 5_000, () => now);
      const leaderOf = (store: RedisStore) =>
        new HistoryModule(
          store.history,
          () => specs,
          windows,
          { leading: true },
          new EventBus(() => undefined),
          createLogger('history', 'silent'),
          () => now,
        );
      const record = (n: number) =>
        windows.record(
          routerReport(now, [
            instanceLoad('calc', 'c1', [], {
              requests: n,
              errors: n / 10,
              inFlight: 2,
              latency: undefined,
              errorsByCode: { UNAVAILABLE: n / 10 },
              cpuUtilization: 0.25,
              memUtilization: 0.5,
              orcaAtMs: now,
            }),
          ]),
        );
      // Replica A leads for a minute, then B takes over.
      const onA = leaderOf(a);
      for (let i = 0; i < 6; i++) {
        now += 4_000;
        record(100);
        now += 5_000;
        record(100);
        now += 1_000;
        await onA.sample(now);
      }
      const onB = leaderOf(b);
      for (let i = 0; i < 6; i++) {
        now += 4_000;
        record(200);
        now += 5_000;
        record(200);
        now += 1_000;
        await onB.sample(now);
      }
      const q = { engine: 'calc' };
      const fromA = await queryHistory(a.history, specs, q, now);
      const fromB = await queryHistory(b.history, specs, q, now);
      expect(fromB).toEqual(fromA);
      const rps = fromA.series.find((s) => s.instance === 'c1' && s.metric === 'rps')!.points;
      expect(rps.map(([, v]) => v)).toEqual([...Array(6).fill(20), ...Array(6).fill(40)]);
      expect(fromA.series.find((s) => s.instance === 'c1' && s.metric === 'errorRate')!.points[0][1]).toBe(
        0.1,
      );
      const minutes = await queryHistory(
        b.history,
        specs,
        { ...q, instance: 'c1', metrics: ['rps', 'cpu'], stepMs: 60_000 },
        now,
      );
      expect(minutes.series[0].points.map(([, v]) => v)).toEqual([20, 40]);
      expect(minutes.series[1].points.map(([, v]) => v)).toEqual([0.25, 0.25]);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
