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
    set = await startSentinelSet({ replicas: 1, sentinels: 3, downAfterMs: 1_000 });
  }, 30_000);
  afterAll(async () => {
    for (const s of opened.splice(0)) await s.close();
    await set.stop();
  });

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
    // Replication is asynchronous and these commits do not wait for the replica: it is made to hold
    // the five changes before the failover.
    await set.replicated();

    const after = await set.failover();
    expect(after).not.toBe(before);
    // Writes are refused while there is no primary, then go to the promoted replica; both replicas
    // keep answering reads from what they hold meanwhile.
    expect(a.get('engines', 'a')?.value).toEqual(doc(5));
    const written = await waitFor(
      () =>
        a.commit({ ...meta, ops: [put(6)] }).then(
          (r) => r,
          (err: unknown) => {
            if (err instanceof StoreUnavailableError) return undefined;
            throw err;
          },
        ),
      'a write to reach the promoted primary',
      30_000,
      200,
    );
    expect(written.version).toBe(6); // the five before the failover were on the replica: nothing lost
    await waitFor(() => b.version() === 6, 'b to follow the new primary to version 6', 15_000);
    expect(b.get('engines', 'a')?.value).toEqual(doc(6));
    expect(a.status().state).toBe('ok');
  }, 60_000);
});
