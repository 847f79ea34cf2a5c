import * as grpc from '@grpc/grpc-js';
import { invoke, TestCluster } from '../helpers/cluster';

describe('queuing and throttling at the router', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start([
      {
        name: 'limited',
        type: 'echo',
        instances: 1,
        policy: { rateLimit: { requestsPerSecond: 20, burst: 2 }, breaker: { maxPending: 0 } },
      },
      {
        name: 'queued',
        type: 'echo',
        instances: 1,
        policy: {
          rateLimit: { requestsPerSecond: 20, burst: 1, queueTimeoutMs: 5_000 },
          breaker: { maxPending: 50 },
        },
      },
    ]);
  });
  afterAll(async () => cluster?.stop());

  it('refuses calls over the rate with RESOURCE_EXHAUSTED saying which limit, when there is no queue', async () => {
    const client = cluster.engineClient();
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, () => invoke(client, 'limited', 'echo', 'x')),
    );
    const refused = results
      .filter((r) => r.status === 'rejected')
      .map((r) => (r as PromiseRejectedResult).reason as grpc.ServiceError);
    expect(results.length - refused.length).toBeGreaterThanOrEqual(2); // the burst
    expect(refused.length).toBeGreaterThanOrEqual(6);
    for (const err of refused) {
      expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(err.details).toBe('engine "limited" is over its rate limit (20/s, burst 2)');
    }
  });

  it('queues calls over the rate and releases them at the rate, all succeeding', async () => {
    const client = cluster.engineClient();
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 8 }, () => invoke(client, 'queued', 'echo', 'x').then(() => Date.now() - started)),
    );
    results.sort((a, b) => a - b);
    // One token at once, then one every 50 ms: the last of 8 completes no sooner than ~350 ms.
    expect(results[7]).toBeGreaterThanOrEqual(300);
    expect(results[0]).toBeLessThan(300); // the first token is there at once; slack for a loaded machine
  });
});
