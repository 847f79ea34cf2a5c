import { internals } from '../helpers/internals';
import * as net from 'node:net';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { DemoEngine } from '../../src/engines/engine-server';
import { parseEngineSpec } from '../../src/model/validate';
import { Router } from '../../src/router/router';
import { MemoryStore } from '../../src/store/memory-store';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import * as grpc from '@grpc/grpc-js';
import { logger, spread } from '../helpers/cluster';
import { TcpRelay } from '../helpers/tcp-relay';
import { waitFor } from '../helpers/wait';
import { servedType } from '../../src/model/snapshot';

/** A port nothing listens on: bound, then released. */
async function deadPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('router and control plane connection', () => {
  let engines: DemoEngine[] = [];
  const startCp = async (port: number) => {
    const spec = parseEngineSpec({
      name: 'echo',
      instances: engines.map((e) => ({ id: e.id, address: e.address })),
      policy: { healthCheck: { intervalMs: 100 } },
    });
    if (!spec.ok) throw new Error(spec.errors.join());
    return ControlPlane.start({
      store: new MemoryStore(),
      logger,
      host: '127.0.0.1',
      xdsPort: port,
      engines: [spec.value],
    });
  };

  beforeAll(async () => {
    engines = await Promise.all(
      [1, 2].map((i) =>
        new DemoEngine({ type: 'echo', id: `echo-${i}`, host: '127.0.0.1', port: 0, logger }).start(),
      ),
    );
  });
  afterAll(async () => {
    await Promise.all(engines.map((e) => e.stop(200)));
  });

  it('notices a control plane gone silent (keepalive) and fails over to the next listed one', async () => {
    const silent = await startCp(0);
    const other = await startCp(0);
    const relay = await TcpRelay.start({ host: '127.0.0.1', port: silent.port });
    const router = await new Router({
      controlPlanes: [`127.0.0.1:${relay.port}`, `127.0.0.1:${other.port}`],
      id: 'kr',
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      logger,
      keepalive: { timeMs: 300, timeoutMs: 300 },
    }).start();
    try {
      await waitFor(
        () =>
          internals(silent)
            .ads.clients()
            .some((c) => c.nodeId === 'kr'),
        'the router on the first control plane',
      );
      await waitFor(() => router.state.engine('echo'), 'the config from the first control plane');
      relay.freeze(); // no reset, no FIN: only pings can tell
      await waitFor(
        () =>
          internals(other)
            .ads.clients()
            .some((c) => c.nodeId === 'kr'),
        'failover to the second',
        10_000,
      );
      expect(router.state.engine('echo')).toBeDefined();
    } finally {
      await router.stop(200);
      await relay.close();
      await Promise.all([silent.stop(200), other.stop(200)]);
    }
  });

  it('tries the listed control planes in turn, keeps routing while none answers, and reconnects when one returns', async () => {
    const dead = await deadPort();
    let cp = await startCp(0);
    const port = cp.port;
    const router = await new Router({
      controlPlanes: [`127.0.0.1:${dead}`, `127.0.0.1:${port}`],
      id: 'r',
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      logger,
    }).start();
    const client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
    try {
      await waitFor(() => router.state.engine('echo'), 'config via the second listed control plane');
      await waitFor(async () => (await cp.admin.views.health()).status === 'healthy', 'healthy engines');

      await cp.stop(200);
      await waitFor(() => !router.ads.connected, 'the router to notice the control plane is gone');
      // Static stability: the last good config keeps routing.
      expect(await spread(client, 'echo', 4)).toEqual({ 'echo-1': 2, 'echo-2': 2 });

      cp = await startCp(port);
      await waitFor(() => router.ads.connected, 'reconnection to the returning control plane', 15_000);
      // Its first health checks change what it serves: wait for them, so the router holds their result.
      await waitFor(
        async () => (await cp.admin.views.health()).status === 'healthy',
        'healthy engines again',
      );
      // Versions are content digests: once the new control plane serves what the router holds, the two
      // agree on every type's version (it is pushed only what differs, nothing when nothing does).
      const cluster = 'type.googleapis.com/nerve.discovery.v1.EngineCluster';
      await waitFor(
        () =>
          router.ads.states.get(cluster)!.acceptedVersion ===
          servedType(internals(cp).cache.snapshot, cluster, true)?.version,
        'the router in sync with the returning control plane',
      );
      await waitFor(
        () =>
          internals(cp)
            .ads.clients()
            .some((c) => c.nodeId === 'r'),
        'the router listed at the new control plane',
      );
      // Both instances take calls (a push between two calls may restart the round robin: no exact 1/1).
      const after = await spread(client, 'echo', 4);
      expect(Object.keys(after).sort()).toEqual(['echo-1', 'echo-2']);
    } finally {
      client.close();
      await router.stop(200);
      await cp.stop(200);
    }
  });
});
