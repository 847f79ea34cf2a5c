import * as grpc from '@grpc/grpc-js';
import { compileHedging } from '../../src/router/resilience/retry-policy';
import { invoke, invokeError, TestCluster } from '../helpers/cluster';

describe('slow instances: hedging (gRFC A6) and per-attempt timeouts', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start([
      {
        name: 'hedged',
        type: 'echo',
        instances: 2,
        policy: {
          retry: { maxAttempts: 1 },
          outlier: { consecutiveErrors: 0 },
          breaker: { failureRateThreshold: 0, engineFailureRateThreshold: 0 },
          hedging: { maxAttempts: 2, delayMs: 50, methods: ['/nerve.engine.v1.Engine/Invoke'] },
        },
      },
      {
        name: 'patient',
        type: 'echo',
        instances: 2,
        policy: {
          retry: { maxAttempts: 2, perAttemptTimeoutMs: 150, retryableCodes: ['UNAVAILABLE'] },
          outlier: { consecutiveErrors: 0 },
          breaker: { failureRateThreshold: 0, engineFailureRateThreshold: 0 },
        },
      },
    ]);
  });
  afterAll(async () => cluster?.stop());
  afterEach(() => {
    for (const e of cluster.engines.values()) e.setFaults({});
  });

  const stats = (id: string) => [...cluster.router.state.allStats()].find((s) => s.instanceId === id)!;

  it('sends a second copy to another instance when the first is slow; the fast answer wins, the slow copy is cancelled', async () => {
    const client = cluster.engineClient();
    await invoke(client, 'hedged', 'echo', 'warm');
    cluster.engines.get('hedged-1')!.setFaults({ delayMs: 3_000 });
    const before = { errors: stats('hedged-1').totalErrors, requests: stats('hedged-1').totalRequests };
    for (let i = 0; i < 6; i++) {
      const started = Date.now();
      const res = await invoke(client, 'hedged', 'echo', `call ${i}`);
      expect(res.instanceId).toBe('hedged-2');
      expect(res.payload.toString()).toBe(`call ${i}`);
      expect(Date.now() - started).toBeLessThan(2_500); // not the slow instance's 3 s
    }
    // Copies that lost were cancelled by the router: not counted as calls or errors of hedged-1.
    expect(stats('hedged-1').totalErrors).toBe(before.errors);
    expect(stats('hedged-1').totalRequests).toBe(before.requests);
    expect(stats('hedged-1').inFlight).toBe(0);
  });

  it('starts the next copy at once after a non-fatal status', async () => {
    const client = cluster.engineClient();
    cluster.engines.get('hedged-1')!.setFaults({ errorRate: 1, errorCode: grpc.status.UNAVAILABLE });
    for (let i = 0; i < 6; i++)
      expect((await invoke(client, 'hedged', 'echo', 'x')).instanceId).toBe('hedged-2');
  });

  it('passes a fatal status through at once (a copy that fails for the caller is not retried elsewhere)', async () => {
    const client = cluster.engineClient();
    cluster.engines.get('hedged-1')!.setFaults({ errorRate: 1, errorCode: grpc.status.INVALID_ARGUMENT });
    cluster.engines.get('hedged-2')!.setFaults({ errorRate: 1, errorCode: grpc.status.INVALID_ARGUMENT });
    const err = await invokeError(client, 'hedged', 'echo');
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
  });

  it('reports the last failure when every copy failed', async () => {
    const client = cluster.engineClient();
    for (const id of ['hedged-1', 'hedged-2'])
      cluster.engines.get(id)!.setFaults({ errorRate: 1, errorCode: grpc.status.UNAVAILABLE });
    const err = await invokeError(client, 'hedged', 'echo');
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toMatch(
      /^2 hedged copies failed; last: engine "hedged" instance "hedged-\d" at 127\.0\.0\.1:\d+: /,
    );
  });

  it('cancels an attempt at its per-attempt timeout and retries it on another instance', async () => {
    const client = cluster.engineClient();
    cluster.engines.get('patient-1')!.setFaults({ delayMs: 3_000 });
    for (let i = 0; i < 4; i++) {
      const started = Date.now();
      expect((await invoke(client, 'patient', 'echo', 'x')).instanceId).toBe('patient-2');
      expect(Date.now() - started).toBeLessThan(2_500); // not the slow instance's 3 s
    }
    // Both instances slow: the last attempt has the rest of the call's deadline, and the caller hears why.
    cluster.engines.get('patient-2')!.setFaults({ delayMs: 3_000 });
    const md = new grpc.Metadata();
    md.set('x-nerve-engine', 'patient');
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      client.invoke(
        { operation: 'echo', payload: Buffer.from('x'), metadata: {} },
        md,
        { deadline: Date.now() + 600 },
        (e) => resolve(e!),
      ),
    );
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it('honours grpc-retry-pushback-ms: waits as told, or does not retry', async () => {
    const client = cluster.engineClient();
    const first = () => stats('patient-1').totalRequests;
    // patient-1 fails asking for 300 ms: a call that tried it first gets through on patient-2 only then.
    cluster.engines
      .get('patient-1')!
      .setFaults({ errorRate: 1, errorCode: grpc.status.UNAVAILABLE, retryPushbackMs: 300 });
    let before = first();
    const times: number[] = [];
    for (let i = 0; i < 4; i++) {
      const started = Date.now();
      expect((await invoke(client, 'patient', 'echo', 'x')).instanceId).toBe('patient-2');
      times.push(Date.now() - started);
    }
    const pushedBack = first() - before;
    expect(pushedBack).toBeGreaterThan(0);
    expect(times.filter((t) => t >= 300)).toHaveLength(pushedBack);
    // Negative: not retried, and the caller hears why.
    cluster.engines
      .get('patient-1')!
      .setFaults({ errorRate: 1, errorCode: grpc.status.UNAVAILABLE, retryPushbackMs: -1 });
    before = first();
    const errors: grpc.ServiceError[] = [];
    for (let i = 0; i < 4; i++)
      await invoke(client, 'patient', 'echo', 'x').catch((e: grpc.ServiceError) => errors.push(e));
    expect(errors.length).toBe(first() - before);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0].details).toMatch(/not retried: the instance asked not to \(grpc-retry-pushback-ms\)$/);
  });

  it('hedges only the methods listed', () => {
    const h = compileHedging({
      maxAttempts: 3,
      delayMs: 10,
      nonFatalCodes: ['UNAVAILABLE'],
      methods: ['/a.B/C', 'd.E/*'],
    })!;
    expect(['/a.B/C', '/a.B/X', '/d.E/Anything', '/d.EE/X'].map((p) => h.applies(p))).toEqual([
      true,
      false,
      true,
      false,
    ]);
    expect(compileHedging({ maxAttempts: 3, delayMs: 10, nonFatalCodes: [], methods: [] })).toBeUndefined();
  });
});
