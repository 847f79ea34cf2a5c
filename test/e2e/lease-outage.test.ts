import { withTool } from '../helpers/requires';
import { internals } from '../helpers/internals';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { DemoEngine } from '../../src/engines/engine-server';
import { registerEngine } from '../../src/engines/registration';
import { RedisStore } from '../../src/store/redis/redis-store';
import { engineSpec, logger } from '../helpers/cluster';
import { hasRedisServer, startRedis, type TestRedis } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

const describeRedis = withTool(hasRedisServer(), 'redis-server').describe;

describeRedis('every control plane down longer than a lease TTL', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  const start = (xdsPort: number) =>
    ControlPlane.start({
      store: new RedisStore({ url: redis.url, prefix: 'outage:' }),
      logger,
      host: '127.0.0.1',
      xdsPort,
      healthChecks: false,
      lease: { ttlMs: 1_000, renewMs: 200, retryMs: 200 },
      engines: [engineSpec({ name: 'calc', versions: [{ name: 'v1', weight: 100 }], instances: [] })],
    });

  it('keeps a healthy leased instance in routing when they come back: its heartbeats get a whole TTL', async () => {
    const engine = await new DemoEngine({
      type: 'echo',
      name: 'calc',
      id: 'calc-1',
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    let cp = await start(0);
    const port = cp.port;
    const registration = await registerEngine(engine, `127.0.0.1:${port}`, engine.address, { ttlMs: 1_500 });
    try {
      await waitFor(() => internals(cp).leader.leading, 'a leader');
      await cp.stop(200);
      await internals(cp).store.close();
      // Down for twice the TTL: every lease's expiry passes while nobody can take a heartbeat.
      const downUntil = Date.now() + 3_000;
      await waitFor(() => Date.now() >= downUntil, 'the outage', 5_000, 100);
      cp = await start(port);
      await waitFor(() => internals(cp).leader.leading, 'a new leader', 10_000);
      const renewedBefore = internals(cp).leases.lease('calc', 'calc-1')!.renewedAt;
      let lapsed = false;
      await waitFor(
        () => {
          lapsed ||= internals(cp).leases.isLapsed('calc', 'calc-1');
          return internals(cp).leases.lease('calc', 'calc-1')!.renewedAt !== renewedBefore;
        },
        'a heartbeat taken by the new leader',
        5_000,
      );
      expect(lapsed).toBe(false);
      expect(
        internals(cp)
          .fleetEvents.list('calc')
          .map((e) => e.kind),
      ).not.toContain('lease_lapsed');
    } finally {
      await registration.leave().catch(() => undefined);
      await cp.stop(200);
      await internals(cp).store.close();
      await engine.stop(200);
    }
  }, 60_000);

  it('registers through any of several control planes and stays registered when the one it used stops', async () => {
    const engine = await new DemoEngine({
      type: 'echo',
      name: 'calc',
      id: 'calc-2',
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    const a = await start(0);
    const b = await start(0);
    // The first address answers nothing: the registration goes on to the next.
    const registration = await registerEngine(
      engine,
      `127.0.0.1:1,127.0.0.1:${a.port},127.0.0.1:${b.port}`,
      engine.address,
      { ttlMs: 1_500, joinTimeoutMs: 10_000 },
    );
    try {
      await waitFor(
        () => internals(b).leases.lease('calc', 'calc-2') !== undefined,
        'the lease seen by both replicas',
      );
      await a.stop(200);
      await internals(a).store.close();
      await waitFor(() => internals(b).leader.leading, 'b leads', 10_000);
      const renewed = internals(b).leases.lease('calc', 'calc-2')!.renewedAt;
      let lapsed = false;
      await waitFor(
        () => {
          lapsed ||= internals(b).leases.isLapsed('calc', 'calc-2');
          return internals(b).leases.lease('calc', 'calc-2')!.renewedAt !== renewed;
        },
        'a heartbeat through b',
        10_000,
      );
      expect(lapsed).toBe(false);
    } finally {
      await registration.leave().catch(() => undefined);
      await b.stop(200);
      await internals(b).store.close();
      await engine.stop(200);
    }
  }, 60_000);
});
