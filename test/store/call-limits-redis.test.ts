import { withTool } from '../helpers/requires';
import { CallLimits, RateLimitedError } from '../../src/security/call-limits';
import { hasRedisServer, startRedis, type TestRedis } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

// Without a redis-server binary (.ci/run installs one) there is nothing to share counters through.
const withRedis = withTool(hasRedisServer(), 'redis-server').describe;

withRedis('rate limits shared through Redis (REDIS_URL)', () => {
  let redis: TestRedis;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => redis?.stop());

  it('gives two replicas one budget per address and per credential, and stands in while Redis is away', async () => {
    const settings = {
      perAddressPerMinute: 5,
      perPrincipalPerMinute: 3,
      redis: { kind: 'url' as const, url: redis.url },
      prefix: 'limits-test:',
      // The sharing is what this test checks, so the shared counters get time to answer: with the
      // default 50 ms a loaded CI host had them answer late, and the replica's own count stood in
      // (the stand-in for a slow Redis is the next test's).
      maxWaitMs: 2_000,
    };
    const a = new CallLimits(settings);
    const b = new CallLimits(settings);
    try {
      await waitFor(() => a.shared && b.shared, 'both limiters connected to Redis');
      const outcomes: string[] = [];
      for (const replica of [a, b, a, b, a, b])
        outcomes.push(
          await replica.address('10.0.0.7').then(
            () => 'ok',
            (e: unknown) => (e instanceof RateLimitedError ? '429' : String(e)),
          ),
        );
      expect(outcomes).toEqual(['ok', 'ok', 'ok', 'ok', 'ok', '429']);
      const key = { name: 'ci', role: 'viewer' as const, via: 'api-key' as const };
      await a.principal(key);
      await b.principal(key);
      await a.principal(key);
      await expect(b.principal(key)).rejects.toBeInstanceOf(RateLimitedError);
      // Another address and another credential have budgets of their own.
      await expect(b.address('10.0.0.8')).resolves.toBeUndefined();
      await expect(a.principal({ ...key, name: 'other' })).resolves.toBeUndefined();
      // Redis gone: the in-memory stand-in answers at once, limiting on its own.
      await redis.kill();
      const c = new CallLimits({ ...settings, perAddressPerMinute: 2, maxWaitMs: 50 });
      try {
        await expect(c.address('10.0.0.9')).resolves.toBeUndefined();
        await expect(c.address('10.0.0.9')).resolves.toBeUndefined();
        await expect(c.address('10.0.0.9')).rejects.toBeInstanceOf(RateLimitedError);
      } finally {
        c.close();
      }
    } finally {
      a.close();
      b.close();
    }
  });

  it('never holds a call for a hung Redis: this replica answers within the wait, then for a while alone', async () => {
    const r = await startRedis();
    const limits = new CallLimits({
      perAddressPerMinute: 100,
      perPrincipalPerMinute: 100,
      redis: { kind: 'url', url: r.url },
      prefix: 'hung:',
    });
    try {
      await waitFor(() => limits.shared, 'connected to Redis');
      r.pause();
      const timed = async () => {
        const start = Date.now();
        await limits.address('10.0.0.1');
        return Date.now() - start;
      };
      expect(await timed()).toBeLessThan(500);
      expect(limits.shared).toBe(false); // left alone for a while
      expect(await timed()).toBeLessThan(50);
    } finally {
      r.resume();
      limits.close();
      await r.stop();
    }
  });
});
