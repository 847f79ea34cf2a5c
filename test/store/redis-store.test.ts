import Redis from 'ioredis';
import type { JsonValue } from '../../src/model/config';
import { RevisionConflictError, StoreUnavailableError } from '../../src/store/config-store';
import { RedisStore } from '../../src/store/redis/redis-store';
import { hasRedisServer, startRedis, type TestRedis } from '../helpers/redis';
import { TcpRelay } from '../helpers/tcp-relay';
import { waitFor } from '../helpers/wait';

const doc = (n: number): JsonValue => ({ name: 'a', n });
const put = (n: number) => ({ op: 'put' as const, kind: 'engines', name: 'a', value: doc(n) });
const meta = { actor: 'tester', summary: 'change' };

// Needs Debian's redis-server (CI installs it); the contract suite covers the memory store without it.
const describeRedis = hasRedisServer() ? describe : describe.skip;

describeRedis('Redis store: replicas, outages, trimmed feeds', () => {
  let redis: TestRedis;
  let prefix = 0;
  const opened: RedisStore[] = [];
  const open = async (p: string, url = redis.url, feedLength?: number) => {
    const s = new RedisStore({ url, prefix: p, feedLength });
    opened.push(s);
    await s.start();
    return s;
  };

  beforeAll(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('a change committed on one replica reaches the others through the feed, in order', async () => {
    const p = `r${++prefix}:`;
    const [a, b, c] = [await open(p), await open(p), await open(p)];
    for (let n = 1; n <= 20; n++) await a.commit({ ...meta, ops: [put(n)] });
    await waitFor(() => b.version() === 20 && c.version() === 20, 'b and c at version 20');
    expect(c.get('engines', 'a')).toEqual({ kind: 'engines', name: 'a', revision: 20, value: doc(20) });
    const late = await open(p); // a replica started later loads everything
    expect(late.version()).toBe(20);
  });

  it('two concurrent writers of the same revision: one wins, the other gets a conflict, nothing is lost', async () => {
    const p = `r${++prefix}:`;
    const [a, b] = [await open(p), await open(p)];
    await a.commit({ ...meta, ops: [put(0)] });
    await waitFor(() => b.version() === 1, 'b at version 1');
    const expect1 = new Map([['engines/a', 1]]);
    const results = await Promise.allSettled([
      a.commit({ ...meta, actor: 'a', ops: [put(1)], expect: expect1 }),
      b.commit({ ...meta, actor: 'b', ops: [put(2)], expect: expect1 }),
    ]);
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    expect([won.length, lost.length]).toEqual([1, 1]);
    expect((lost[0] as PromiseRejectedResult).reason).toBeInstanceOf(RevisionConflictError);
    const winner = won[0] === results[0] ? 1 : 2;
    await waitFor(() => a.version() === 2 && b.version() === 2, 'both at version 2');
    expect(a.get('engines', 'a')!.value).toEqual(doc(winner));
    expect(b.get('engines', 'a')!.value).toEqual(doc(winner));
  });

  it('Redis down: reads answer from the last state, writes fail fast, status says why; back: catches up, nothing acknowledged lost', async () => {
    const p = `r${++prefix}:`;
    const [a, b] = [await open(p), await open(p)];
    for (let n = 1; n <= 5; n++) await a.commit({ ...meta, ops: [put(n)] });
    await waitFor(() => b.version() === 5, 'b at 5');
    await redis.kill();
    await waitFor(() => a.status().state === 'unavailable', 'a to notice');
    expect(a.status().reason).toMatch(/not reachable|feed fails/);
    const started = Date.now();
    await expect(a.commit({ ...meta, ops: [put(6)] })).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(a.commit({ ...meta, ops: [put(6)] })).rejects.toThrow(/^configuration store unavailable/);
    expect(Date.now() - started).toBeLessThan(500);
    expect(a.get('engines', 'a')!.value).toEqual(doc(5));
    await redis.restart();
    await waitFor(() => a.status().state === 'ok' && b.status().state === 'ok', 'both back', 15_000);
    await a.commit({ ...meta, ops: [put(6)] });
    await waitFor(() => b.version() === 6, 'b at 6 after the restart');
    expect(b.get('engines', 'a')!.value).toEqual(doc(6));
  }, 40_000);

  it('a replica cut off while the feed is trimmed past it reloads everything when it is back', async () => {
    const p = `r${++prefix}:`;
    const relay = await TcpRelay.start({ host: '127.0.0.1', port: redis.port });
    const direct = new Redis(redis.url);
    try {
      const a = await open(p);
      const b = await open(p, `redis://127.0.0.1:${relay.port}`);
      await a.commit({ ...meta, ops: [put(1)] });
      await waitFor(() => b.version() === 1, 'b at 1');
      const reloads: string[] = [];
      b.watch((c) => reloads.push(`${c.version}:${c.actor}`));
      relay.cut();
      await waitFor(() => b.status().state === 'unavailable', 'b cut off');
      for (let n = 2; n <= 6; n++) await a.commit({ ...meta, ops: [put(n)] });
      await a.commit({ ...meta, ops: [{ op: 'put', kind: 'engines', name: 'b', value: { name: 'b' } }] });
      await direct.xtrim(`${p}config:feed`, 'MAXLEN', 1);
      relay.restore();
      await waitFor(() => b.version() === 7, 'b reloaded to 7', 15_000);
      expect(reloads).toEqual(['7:store']);
      expect(b.get('engines', 'a')!.value).toEqual(doc(6));
      expect(b.get('engines', 'b')!.value).toEqual({ name: 'b' });
      await waitFor(() => b.status().state === 'ok', 'b following the feed again');
    } finally {
      direct.disconnect();
      await relay.close();
    }
  }, 30_000);
});
