import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { invoke, TestCluster } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

describe('outlier detection: consecutive failures', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    // Health checks that one slow probe round cannot flip: the test process hosts the control plane, the
    // router and the engines, and a stall of half a second on a loaded machine once marked all three
    // unhealthy for the first calls (this test is about passive ejection, not health).
    cluster = await TestCluster.start([
      {
        name: 'flaky',
        type: 'echo',
        instances: 3,
        policy: { healthCheck: { timeoutMs: 2_000, unhealthyThreshold: 3 } },
      },
    ]);
  });
  afterAll(async () => cluster?.stop());

  it('ejects an instance after 5 failures in a row, and the next calls all succeed', async () => {
    // The fault-injecting engine: flaky-2 answers INTERNAL (not retryable by the default policy) to every call.
    cluster.engines.get('flaky-2')!.setFaults({ errorRate: 1, errorCode: grpc.status.INTERNAL });
    const client = cluster.engineClient();
    const outcomes: string[] = [];
    for (let i = 0; i < 60; i++) {
      outcomes.push(
        await invoke(client, 'flaky', 'echo', 'x').then(
          (r) => r.instanceId,
          (e: grpc.ServiceError) => `error ${grpc.status[e.code]}: ${e.details}`,
        ),
      );
    }
    const errors = outcomes.filter((o) => o.startsWith('error'));
    expect(errors).toEqual(Array(5).fill('error INTERNAL: injected fault in flaky instance flaky-2'));
    expect(outcomes.slice(20).every((o) => o === 'flaky-1' || o === 'flaky-3')).toBe(true);
    const metrics = await (await fetch(`http://127.0.0.1:${cluster.router.adminPort}/metrics`)).text();
    expect(metrics).toContain(
      'nerve_router_errors_total{engine="flaky",instance="flaky-2",code="INTERNAL",router="test-router"} 5',
    );
    expect(metrics).toContain(
      'nerve_router_instance_ejected{engine="flaky",instance="flaky-2",router="test-router"} 1',
    );
    // The router's next report puts the ejection in the engine's history, the router as its actor.
    const history = await waitFor(async () => {
      const h = (await (await fetch(`${cluster.apiBase}/health/flaky?since=1h`)).json()) as {
        history: { instance: string; kind: string; actor: string; to: string; reason: string }[];
      };
      return h.history.find((t) => t.kind === 'ejection');
    }, 'the ejection in the health history');
    expect(history).toMatchObject({ instance: 'flaky-2', to: 'ejected', actor: 'test-router' });
    expect(history.reason).toMatch(/ejected by router test-router: outlier detection/);
  });

  it('the fault-injecting engine adds latency and hangs on demand', async () => {
    const engine = cluster.engines.get('flaky-3')!;
    const direct = new EngineClient(engine.address, grpc.credentials.createInsecure());
    try {
      engine.setFaults({ delayMs: 150 });
      const started = Date.now();
      await invoke(direct, undefined, 'echo', 'x');
      expect(Date.now() - started).toBeGreaterThanOrEqual(140);
      engine.setFaults({ hang: true });
      const err = await new Promise<grpc.ServiceError>((resolve) =>
        direct.invoke(
          { operation: 'echo', payload: Buffer.from('x'), metadata: {} },
          new grpc.Metadata(),
          { deadline: Date.now() + 200 },
          (e) => resolve(e!),
        ),
      );
      expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    } finally {
      engine.setFaults({});
      direct.close();
    }
  });
});
