import { withTool } from '../helpers/requires';
import { DuplicateCommitError, idempotencyId, withIdempotencyKey } from '../../src/store/idempotency';
import Redis from 'ioredis';
import type { JsonValue } from '../../src/model/config';
import {
  RevisionConflictError,
  StoreDivergedError,
  StoreUnavailableError,
} from '../../src/store/config-store';
import { RedisStore } from '../../src/store/redis/redis-store';
import { hasRedisServer, startRedis, type TestRedis } from '../helpers/redis';
import { TcpRelay } from '../helpers/tcp-relay';
import { waitFor } from '../helpers/wait';

const doc = (n: number): JsonValue => ({ name: 'a', n });
const put = (n: number) => ({ op: 'put' as const, kind: 'engines', name: 'a', value: doc(n) });
const meta = { actor: 'tester', summary: 'change' };

// Needs Debian's redis-server (CI installs it); the contract suite covers the memory store without it.
const describeRedis = withTool(hasRedisServer(), 'redis-server').describe;

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

  it('a replica cut off while the feed is trimmed past it reloads when it is back, and tells each change it missed', async () => {
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
      // Every version once, as committed (from the store's change records), not one merged change.
      expect(reloads).toEqual(['2:tester', '3:tester', '4:tester', '5:tester', '6:tester', '7:tester']);
      expect(b.get('engines', 'a')!.value).toEqual(doc(6));
      expect(b.get('engines', 'b')!.value).toEqual({ name: 'b' });
      await waitFor(() => b.status().state === 'ok', 'b following the feed again');
    } finally {
      direct.disconnect();
      await relay.close();
    }
  }, 30_000);

  describe('store identity: data loss is noticed, never adopted, and left only by an explicit way on', () => {
    const open3 = async (p: string) => {
      const replicas = [await open(p), await open(p), await open(p)];
      for (let n = 1; n <= 5; n++) await replicas[0].commit({ ...meta, ops: [put(n)] });
      await waitFor(() => replicas.every((r) => r.version() === 5), 'every replica at 5');
      return replicas;
    };

    it('a Redis restarted empty: every replica diverges, keeps its state, refuses writes and marks the store', async () => {
      const p = `r${++prefix}:`;
      const replicas = await open3(p);
      const generation = replicas[0].status().generation;
      expect(generation).toMatch(/^[0-9a-f-]{36}$/);
      expect(replicas.every((r) => r.status().generation === generation)).toBe(true);
      await redis.restartEmpty();
      await waitFor(
        () => replicas.every((r) => r.status().state === 'diverged'),
        'every replica diverged',
        15_000,
      );
      for (const r of replicas) {
        expect(r.status().reason).toMatch(/lost its data|generation changed|lost data/);
        expect(r.version()).toBe(5);
        expect(r.get('engines', 'a')!.value).toEqual(doc(5));
      }
      await expect(replicas[1].commit({ ...meta, ops: [put(6)] })).rejects.toBeInstanceOf(StoreDivergedError);
      await expect(replicas[1].putShared('ns', [['f', 1]])).rejects.toBeInstanceOf(StoreDivergedError);
      // A replica started on that Redis later does not serve it as if nothing had happened.
      const late = await open(p);
      expect(late.status()).toMatchObject({ state: 'diverged' });
      expect(late.status().reason).toMatch(/found the store had lost data/);
      await expect(late.commit({ ...meta, ops: [put(1)] })).rejects.toBeInstanceOf(StoreDivergedError);
    }, 40_000);

    it('reseeding from a replica writes its whole state as a new generation, and every replica adopts it', async () => {
      const p = `r${++prefix}:`;
      const replicas = await open3(p);
      await replicas[0].putShared('alerts', [['x', { firing: true }]]);
      await waitFor(() => replicas[2].shared('alerts').has('x'), 'shared state everywhere');
      const direct = new Redis(redis.url);
      try {
        for (const key of await direct.keys(`${p}*`)) await direct.del(key); // FLUSHALL of this fleet's keys
      } finally {
        direct.disconnect();
      }
      await waitFor(
        () => replicas.every((r) => r.status().state === 'diverged'),
        'every replica diverged',
        15_000,
      );
      const record = await replicas[1].reseed({ actor: 'ops', summary: 'reseed the store from replica 1' });
      expect(record.version).toBe(6);
      await waitFor(
        () => replicas.every((r) => r.status().state === 'ok'),
        'every replica following again',
        15_000,
      );
      const generation = replicas[1].status().generation;
      expect(replicas.map((r) => r.status().generation)).toEqual([generation, generation, generation]);
      expect(replicas.map((r) => r.version())).toEqual([6, 6, 6]);
      expect(replicas[2].get('engines', 'a')!.value).toEqual(doc(5));
      await waitFor(() => replicas[2].shared('alerts').has('x'), 'shared state written back');
      await replicas[2].commit({ ...meta, ops: [put(7)] });
      await waitFor(() => replicas.every((r) => r.version() === 7), 'writes work again');
      const fresh = await open(p);
      expect(fresh.version()).toBe(7);
    }, 40_000);

    it('restoring a backup writes every entry, even into an empty store, and says what changed', async () => {
      const p = `r${++prefix}:`;
      const replicas = await open3(p);
      await redis.restartEmpty();
      await waitFor(
        () => replicas.every((r) => r.status().state === 'diverged'),
        'every replica diverged',
        15_000,
      );
      const record = await replicas[0].reseed({
        actor: 'ops',
        summary: 'restore',
        entries: [
          { kind: 'engines', name: 'a', value: doc(3) },
          { kind: 'engines', name: 'b', value: { name: 'b' } },
        ],
      });
      expect(record.ops.map((o) => `${o.op} ${o.name}`)).toEqual(['put a', 'put b']);
      await waitFor(
        () => replicas.every((r) => r.status().state === 'ok' && r.version() === 6),
        'adopted',
        15_000,
      );
      const direct = new Redis(redis.url);
      try {
        expect(await direct.hkeys(`${p}config:values`)).toEqual(
          expect.arrayContaining(['engines/a', 'engines/b']),
        );
      } finally {
        direct.disconnect();
      }
      expect(replicas[2].get('engines', 'a')!.value).toEqual(doc(3));
    }, 40_000);

    it('a store whose history was rewritten under a replica (its last change replaced) diverges', async () => {
      const p = `r${++prefix}:`;
      const replicas = await open3(p);
      // As a failover to a Redis replica that lacked changes 4 and 5, after which two other changes took
      // their versions: the version is not behind, the history is not the one the replicas applied.
      const direct = new Redis(redis.url);
      try {
        const five = JSON.parse((await direct.hget(`${p}config:changes`, '5'))!) as { at: number };
        await direct.hset(`${p}config:changes`, '5', JSON.stringify({ ...five, at: five.at + 1 }));
      } finally {
        direct.disconnect();
      }
      await waitFor(
        () => replicas.every((r) => r.status().state === 'diverged'),
        'every replica diverged',
        15_000,
      );
      expect(replicas[0].status().reason).toMatch(/change 5 is not the one this replica applied/);
    }, 40_000);

    it('a Redis restored from an older snapshot (version behind) diverges too', async () => {
      const p = `r${++prefix}:`;
      const replicas = await open3(p);
      const direct = new Redis(redis.url);
      try {
        await direct.set(`${p}config:version`, '2');
      } finally {
        direct.disconnect();
      }
      await waitFor(
        () => replicas.every((r) => r.status().state === 'diverged'),
        'every replica diverged',
        15_000,
      );
      expect(replicas[0].status().reason).toMatch(/store is at version 2, behind this replica's 5/);
    }, 40_000);
  });

  it('a hung Redis: unavailable within a second or two, a write answered "no answer" is never applied later', async () => {
    const p = `r${++prefix}:`;
    const a = await open(p);
    await a.commit({ ...meta, ops: [put(1)] });
    redis.pause();
    try {
      await waitFor(() => a.status().state === 'unavailable', 'a says unavailable', 3_000);
      expect(a.status().reason).toMatch(/does not answer/);
    } finally {
      // While Redis is hung a write is refused at once, not queued behind the hang.
      const write = a.commit({ ...meta, ops: [put(2)] }).then(
        () => 'applied',
        (e: unknown) => String(e),
      );
      redis.resume();
      expect(await write).toMatch(/configuration store unavailable: Redis does not answer/);
    }
    await waitFor(() => a.status().state === 'ok', 'a back', 10_000);
    expect(a.version()).toBe(1);
    expect(a.get('engines', 'a')!.value).toEqual(doc(1));
  }, 30_000);

  it('a write sent into a hung Redis times out and is refused when Redis resumes', async () => {
    const p = `r${++prefix}:`;
    const a = await open(p);
    await a.commit({ ...meta, ops: [put(1)] });
    redis.pause();
    let outcome: string;
    try {
      outcome = await a.commit({ ...meta, ops: [put(2)] }).then(
        () => 'applied',
        (e: unknown) => String(e),
      );
    } finally {
      redis.resume();
    }
    expect(outcome).toMatch(/no answer within 1000 ms: .* it will not be applied later/);
    const direct = new Redis(redis.url);
    try {
      await waitFor(async () => (await direct.get(`${p}config:version`)) !== null, 'Redis answering');
      expect(await direct.get(`${p}config:version`)).toBe('1');
      expect(JSON.parse((await direct.hget(`${p}config:values`, 'engines/a'))!)).toEqual(doc(1));
    } finally {
      direct.disconnect();
    }
  }, 30_000);

  it('a commit under an Idempotency-Key happens once, on any replica', async () => {
    const p = `r${++prefix}:`;
    const [a, b] = [await open(p), await open(p)];
    const first = await withIdempotencyKey('client-1\nkey', () => a.commit({ ...meta, ops: [put(1)] }));
    await waitFor(() => b.version() === first.version, 'b caught up');
    await expect(
      withIdempotencyKey('client-1\nkey', () => b.commit({ ...meta, ops: [put(2)] })),
    ).rejects.toEqual(new DuplicateCommitError(first.version));
    expect(await b.idempotency(idempotencyId('client-1\nkey'))).toEqual({ version: first.version });
    expect(b.version()).toBe(first.version);
    // One commit per key: a second commit in the same context runs without it.
    await withIdempotencyKey('client-1\nother', async () => {
      await a.commit({ ...meta, ops: [put(3)] });
      await a.commit({ ...meta, ops: [put(4)] });
    });
    expect(a.get('engines', 'a')!.value).toEqual(doc(4));
  });
});
