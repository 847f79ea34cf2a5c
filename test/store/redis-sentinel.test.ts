import type { JsonValue } from '../../src/model/config';
import { StoreUnavailableError } from '../../src/store/config-store';
import { RedisStore } from '../../src/store/redis/redis-store';
import { hasRedisSentinel, type SentinelSet, startSentinelSet } from '../helpers/redis-sentinel';
import { withTool } from '../helpers/requires';
import { waitFor } from '../helpers/wait';

const doc = (n: number): JsonValue => ({ name: 'a', n });
const put = (n: number) => ({ op: 'put' as const, kind: 'engines', name: 'a', value: doc(n) });
const meta = { actor: 'tester', summary: 'change' };

// Needs Debian's redis-server and redis-sentinel (CI installs both).
const describeSentinel = withTool(hasRedisSentinel(), 'redis-sentinel').describe;

describeSentinel('Redis store through Sentinel', () => {
  let set: SentinelSet;
  const opened: RedisStore[] = [];

  beforeAll(async () => {
    // 2 s: a tighter setting on two loaded cores can fail a live primary over (the drill's subject).
    set = await startSentinelSet({ replicas: 1, sentinels: 3, downAfterMs: 2_000 });
  }, 30_000);
  afterAll(async () => {
    for (const s of opened.splice(0)) await s.close();
    await set.stop();
  });

  it('a commit or a lease the replica does not confirm is not acknowledged, and says what a retry does', async () => {
    const target = { kind: 'sentinel' as const, sentinels: set.sentinels, name: set.name, tls: false };
    const a = new RedisStore({ target, prefix: 's2:', commandTimeoutMs: 600 });
    const b = new RedisStore({ target, prefix: 's2:', commandTimeoutMs: 600 });
    opened.push(a, b);
    await a.start();
    await b.start();
    await a.commit({ ...meta, ops: [put(1)] });
    await waitFor(() => b.version() === 1, 'b to apply the confirmed change');
    await set.pauseReplicas();
    try {
      const refused = await a.commit({ ...meta, ops: [put(2)] }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(StoreUnavailableError);
      expect(String(refused)).toMatch(/0 of the 1 replicas it needs \(NERVE_REDIS_MIN_REPLICAS\)/);
      expect(String(refused)).toMatch(/same Idempotency-Key .* If-Match/);
      // A fence no replica holds is not taken.
      await expect(a.lease.acquire('leader-a', 5_000)).rejects.toBeInstanceOf(StoreUnavailableError);
      // Neither replica serves the change a failover could still take back: it waits, and says so.
      await waitFor(() => b.status().unconfirmed === 1, 'b to read the change and hold it');
      expect([a.version(), b.version()]).toEqual([1, 1]);
    } finally {
      await set.resumeReplicas();
    }
    // It did reach the primary (no failover came): once the replica holds it, both apply it.
    await waitFor(() => a.version() === 2 && b.version() === 2, 'the change to be confirmed', 10_000);
    expect(b.status().unconfirmed).toBe(0);
    const next = await a.commit({ ...meta, ops: [put(3)] });
    expect(next.version).toBe(3);
    expect(await a.lease.acquire('leader-a', 5_000)).toMatch(/^leader-a:\d+$/);
  }, 60_000);

  it('finds the primary through the Sentinels, and finds the new one after a failover', async () => {
    const target = { kind: 'sentinel' as const, sentinels: set.sentinels, name: set.name, tls: false };
    const a = new RedisStore({ target, prefix: 's1:' });
    const b = new RedisStore({ target, prefix: 's1:' });
    opened.push(a, b);
    await a.start();
    await b.start();
    for (let n = 1; n <= 5; n++) await a.commit({ ...meta, ops: [put(n)] });
    await waitFor(() => b.version() === 5, 'b to follow to version 5');
    const before = await set.primaryPort();
    // No wait for the replica here: each commit was acknowledged once the replica confirmed it.

    const after = await set.failover();
    expect(after).not.toBe(before);
    // Writes are refused while there is no primary, then go to the promoted replica; both replicas
    // keep answering reads from what they hold meanwhile.
    expect(a.get('engines', 'a')?.value).toEqual(doc(5));
    let refusal = '';
    const written = await waitFor(
      () =>
        a.commit({ ...meta, ops: [put(6)] }).then(
          (r) => r,
          (err: unknown) => {
            if (!(err instanceof StoreUnavailableError)) throw err;
            refusal = err.message;
            return undefined;
          },
        ),
      () => `a write to reach the promoted primary (last refusal: ${refusal})`,
      30_000,
      200,
    );
    expect(written.version).toBe(6); // the five before the failover were on the replica: nothing lost
    await waitFor(() => b.version() === 6, 'b to follow the new primary to version 6', 15_000);
    expect(b.get('engines', 'a')?.value).toEqual(doc(6));
    expect(a.status().state).toBe('ok');
  }, 60_000);
});
