import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { DemoEngine } from '../../src/engines/engine-server';
import type { Router } from '../../src/router/router';
import { engineSpec, invoke, logger, startControlPlane, startRouter } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

jest.setTimeout(60_000);

/**
 * The fleet retry budget's wiring: routers report each engine's calls and retries, the control plane
 * sums them and sends every router the fleet's figures with the engine's circuits, and each router takes
 * its share. The rules are unit-tested (retry.test.ts, fleet-retry-budget.test.ts); this shows the path.
 */
describe('fleet retry budget, end to end', () => {
  let cp: ControlPlane;
  let routers: Router[];
  let engines: DemoEngine[];
  let clients: EngineClient[];

  beforeAll(async () => {
    engines = await Promise.all(
      ['f1', 'f2'].map((id) =>
        new DemoEngine({ type: 'echo', name: 'flaky', id, host: '127.0.0.1', port: 0, logger }).start(),
      ),
    );
    for (const e of engines) e.setFaults({ errorRate: 1, errorCode: grpc.status.UNAVAILABLE });
    cp = await startControlPlane(
      [
        engineSpec({
          name: 'flaky',
          instances: engines.map((e) => ({ id: e.id, address: e.address })),
          policy: {
            retry: { maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 2 },
            breaker: { minimumCalls: 1_000_000 },
            outlier: { consecutiveErrors: 0 },
          },
        }),
      ],
      { reportIntervalMs: 200, healthChecks: false },
    );
    routers = await Promise.all(['budget-a', 'budget-b'].map((id) => startRouter(cp, id)));
    clients = routers.map((r) => new EngineClient(`127.0.0.1:${r.port}`, grpc.credentials.createInsecure()));
    await waitFor(() => routers.every((r) => r.state.engine('flaky')), 'both routers to know the engine');
  });

  afterAll(async () => {
    for (const c of clients ?? []) c.close();
    await Promise.all((routers ?? []).map((r) => r.stop(200)));
    await cp?.stop(500);
    await Promise.all((engines ?? []).map((e) => e.stop(200)));
  });

  it('sends each router the fleet figures; each takes its share and the control plane shows the ratio', async () => {
    const budget = (r: Router) => r.state.engine('flaky')!.retry.budget;
    await waitFor(async () => {
      await Promise.all(clients.map((c) => invoke(c, 'flaky', 'echo', 'x').catch(() => undefined)));
      return routers.every((r) => budget(r).share() < 1);
    }, 'both routers to take a share of the fleet budget');
    for (const r of routers) expect(budget(r).retries).toBeGreaterThan(0);
    const metrics = await cp.metrics.registry.metrics();
    expect(metrics).toMatch(/^nerve_fleet_routers\{engine="flaky",replica="[\w-]+"\} 2$/m);
    // Every call here fails and is retried once; a retry is counted when it starts and its call when it
    // ends, so at the window's edges the ratio may pass 1.
    expect(metrics).toMatch(/^nerve_fleet_retry_ratio\{engine="flaky",replica="[\w-]+"\} [\d.]+$/m);
    const ratio = Number(/^nerve_fleet_retry_ratio\{engine="flaky"[^}]*\} ([\d.]+)$/m.exec(metrics)![1]);
    expect(ratio).toBeGreaterThan(0.5);
  });
});
