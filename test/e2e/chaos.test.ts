import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { parseEngineSpec } from '../../src/model/validate';
import { Router } from '../../src/router/router';
import { MemoryStore } from '../../src/store/memory-store';
import { invoke, logger } from '../helpers/cluster';
import { spawnNerve, type Spawned } from '../helpers/process';
import { waitFor } from '../helpers/wait';

describe('chaos: an engine process killed with SIGKILL under steady load', () => {
  let cp: ControlPlane;
  let router: Router;
  const engines: Spawned[] = [];

  beforeAll(async () => {
    // The engine exists first with a quick health check; the instances then register themselves.
    const spec = parseEngineSpec({
      name: 'chaos',
      policy: { healthCheck: { intervalMs: 200, timeoutMs: 200, unhealthyThreshold: 1 } },
    });
    if (!spec.ok) throw new Error(spec.errors.join());
    cp = await ControlPlane.start({
      store: new MemoryStore(),
      logger,
      host: '127.0.0.1',
      xdsPort: 0,
      engines: [spec.value],
    });
    for (const id of ['chaos-1', 'chaos-2', 'chaos-3']) {
      const e = spawnNerve([
        'engine',
        '--type',
        'echo',
        '--name',
        'chaos',
        '--id',
        id,
        '--control-plane',
        `127.0.0.1:${cp.port}`,
      ]);
      engines.push(e);
      await e.waitForOutput(/ready on/);
    }
    router = await new Router({
      controlPlanes: [`127.0.0.1:${cp.port}`],
      id: 'chaos-router',
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      logger,
    }).start();
    await waitFor(
      async () => (await cp.admin.views.health('chaos')).engines[0].healthyInstances === 3,
      'three healthy instances',
    );
    await waitFor(
      () => router.state.engine('chaos')?.cluster.endpoints.length === 3,
      'the router to know them',
    );
  });

  afterAll(async () => {
    for (const e of engines)
      if (e.child.exitCode === null && e.child.signalCode === null) e.child.kill('SIGKILL');
    await router?.stop(500);
    await cp?.stop(500);
  });

  it('loses no call, and sends no traffic to the dead instance 1 s after the kill', async () => {
    const client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
    const errors: string[] = [];
    let calls = 0;
    let running = true;
    const worker = async () => {
      while (running) {
        try {
          await invoke(client, 'chaos', 'echo', 'ping');
          calls++;
        } catch (err) {
          errors.push((err as grpc.ServiceError).details);
        }
      }
    };
    const workers = Array.from({ length: 8 }, worker);
    const victim = () =>
      [...router.state.allStats()].find((s) => s.instanceId === 'chaos-2')?.totalRequests ?? 0;
    await waitFor(() => calls > 300, 'steady load');
    const killedAt = Date.now();
    engines[1].child.kill('SIGKILL');
    await waitFor(() => Date.now() - killedAt >= 1_000 || undefined, 'one second after the kill', 5_000, 50);
    const attemptsAfterOneSecond = victim();
    const callsAtOneSecond = calls;
    await waitFor(() => calls > callsAtOneSecond + 300, 'more load after the kill');
    running = false;
    await Promise.all(workers);
    client.close();

    expect(errors).toEqual([]);
    expect(victim()).toBe(attemptsAfterOneSecond); // nothing went to chaos-2 after the first second
    const healthy = (await cp.admin.views.health('chaos')).engines[0];
    expect(healthy.instances.find((i) => i.id === 'chaos-2')?.health).toBe('unhealthy');
  });
});
