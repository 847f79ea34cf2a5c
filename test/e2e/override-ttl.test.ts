import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { HealthStatus } from '../../gen/nerve/discovery/v1/resources';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { SYSTEM } from '../../src/control-plane/commands/admin-context';
import { DemoEngine } from '../../src/engines/engine-server';
import type { EngineSpec } from '../../src/model/engine';
import { parseEngineSpec } from '../../src/model/validate';
import { ENGINE_OVERRIDES_TYPE } from '../../src/protocol/type-urls';
import { Router } from '../../src/router/router';
import { MemoryStore } from '../../src/store/memory-store';
import { logger, spread } from '../helpers/cluster';
import { internals } from '../helpers/internals';
import { waitFor } from '../helpers/wait';

const TTL_MS = 1_500;
const HEARTBEAT_MS = 250;

/**
 * Resource TTL and heartbeats, end to end: a router (which declares xds.config.supports-resource-ttl)
 * holds a drain and a weight pin as overrides with a TTL; heartbeats keep them past the TTL while a
 * control plane serves; once every control plane is gone for the TTL, the router drops them and routes
 * by the base configuration: the drained instance takes calls again, the pinned weight is the
 * configured one.
 */
describe('override TTL and heartbeats', () => {
  let engines: DemoEngine[] = [];
  let cp: ControlPlane | undefined;
  let router: Router | undefined;
  const store = new MemoryStore();
  /** Seeded with the engine the first time; after that, what the store holds stands. */
  const startCp = (port: number, engines: EngineSpec[] = []) =>
    ControlPlane.start({
      store,
      logger,
      host: '127.0.0.1',
      xdsPort: port,
      engines,
      xds: { overrideTtlMs: TTL_MS, heartbeatMs: HEARTBEAT_MS },
    });

  beforeAll(async () => {
    engines = await Promise.all(
      [1, 2].map((i) =>
        new DemoEngine({ type: 'echo', id: `echo-${i}`, host: '127.0.0.1', port: 0, logger }).start(),
      ),
    );
    const spec = parseEngineSpec({
      name: 'echo',
      instances: engines.map((e) => ({ id: e.id, address: e.address, weight: 10 })),
      policy: { healthCheck: { intervalMs: 100 } },
      adaptiveWeights: { intervalMs: 60_000 },
    });
    if (!spec.ok) throw new Error(spec.errors.join());
    cp = await startCp(0, [spec.value]);
    router = await new Router({
      controlPlanes: [`127.0.0.1:${cp.port}`],
      id: 'ttl-router',
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      logger,
    }).start();
  });
  afterAll(async () => {
    await router?.stop(100);
    await cp?.stop();
    await Promise.all(engines.map((e) => e.stop(100)));
  });

  const endpoint = (id: string) => router!.state.engine('echo')?.cluster.endpoints.find((e) => e.id === id);

  it('keeps a drain and a pin alive by heartbeats, and drops them once the control plane is gone', async () => {
    await waitFor(() => endpoint('echo-2'), 'the engine on the router');
    await cp!.admin.drainInstance('echo', 'echo-2', SYSTEM);
    await cp!.admin.weights.pin('echo', 'echo-1', 3, SYSTEM);
    await waitFor(
      () =>
        endpoint('echo-2')?.health === HealthStatus.HEALTH_STATUS_DRAINING &&
        endpoint('echo-1')?.weight === 3,
      'the drain and the pin on the router',
    );
    // The router holds them as overrides with a TTL, beside a base that has neither.
    const client = internals(cp!)
      .ads.clients()
      .find((c) => c.nodeId === 'ttl-router');
    expect(client?.ttl).toBe(true);
    const overrides = router!.ads.states.get(ENGINE_OVERRIDES_TYPE)!;
    expect(overrides.expiring).toBe(1);
    expect(router!.overlay.overridden()).toEqual(['echo']);

    // Past two TTLs with the control plane serving: heartbeats kept them.
    const heartbeats = overrides.heartbeats;
    const until = Date.now() + 2 * TTL_MS;
    await waitFor(
      () => Date.now() > until && overrides.heartbeats >= heartbeats + 4,
      'heartbeats',
      3 * TTL_MS,
    );
    expect(overrides.expired).toBe(0);
    expect(endpoint('echo-2')?.health).toBe(HealthStatus.HEALTH_STATUS_DRAINING);
    expect(endpoint('echo-1')?.weight).toBe(3);

    // No call goes to the drained instance meanwhile.
    const ingress = new EngineClient(`127.0.0.1:${router!.port}`, grpc.credentials.createInsecure());
    const servedBy = async (n: number) => new Set(Object.keys(await spread(ingress, 'echo', n)));
    try {
      expect(await servedBy(20)).toEqual(new Set(['echo-1']));

      // Every control plane gone: within the TTL (and a heartbeat's slack) the overrides expire.
      const stoppedAt = Date.now();
      const port = cp!.port;
      await cp!.stop();
      cp = undefined;
      await waitFor(() => overrides.expired === 1, 'the overrides to expire', 3 * TTL_MS);
      expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(TTL_MS - 2 * HEARTBEAT_MS);
      expect(endpoint('echo-2')?.health).not.toBe(HealthStatus.HEALTH_STATUS_DRAINING);
      expect(endpoint('echo-1')?.weight).toBe(10);
      expect(router!.overlay.overridden()).toEqual([]);
      const metrics = await (await fetch(`http://127.0.0.1:${router!.adminPort}/metrics`)).text();
      expect(metrics).toMatch(
        /nerve_router_xds_updates_total\{type="EngineOverrides",result="expired"[^}]*\} 1\n/,
      );
      // The base routes to both again.
      await waitFor(
        async () => (await servedBy(20)).has('echo-2'),
        'calls to the instance no longer drained',
      );

      // A control plane back (the same store: the drain and the pin are still configured): the router,
      // which no longer claims the version it let expire, is sent the overrides again.
      cp = await startCp(port);
      await waitFor(
        () =>
          endpoint('echo-2')?.health === HealthStatus.HEALTH_STATUS_DRAINING &&
          endpoint('echo-1')?.weight === 3,
        'the overrides again from the returning control plane',
        15_000,
      );
      expect(await servedBy(20)).toEqual(new Set(['echo-1']));
    } finally {
      ingress.close();
    }
  }, 45_000);
});
