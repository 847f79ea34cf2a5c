import { withTool } from '../helpers/requires';
import { ConfigAdmin } from '../../src/control-plane/admin/config-admin';
import { SYSTEM } from '../../src/control-plane/commands/admin-context';
import type { ChangeRecord, JsonValue } from '../../src/model/config';
import {
  type ConfigStore,
  FencedError,
  RevisionConflictError,
  VersionConflictError,
} from '../../src/store/config-store';
import { toDocument } from '../../src/model/engine-document';
import { parseEngineSpec } from '../../src/model/validate';
import { MemoryStore } from '../../src/store/memory-store';
import { RedisStore } from '../../src/store/redis/redis-store';
import { hasRedisServer, startRedis, type TestRedis } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

/** An engine document in its stored (canonical) form, as every write through the admin API stores it. */
function engine(name: string, weight = 100): JsonValue {
  const parsed = parseEngineSpec({ name, instances: [{ id: `${name}-1`, address: '127.0.0.1:1', weight }] });
  if (!parsed.ok) throw new Error(parsed.errors.join('; '));
  return toDocument(parsed.value);
}
const put = (name: string, weight = 100) => ({
  op: 'put' as const,
  kind: 'engines',
  name,
  value: engine(name, weight),
});
const meta = { actor: 'tester', summary: 'a change' };

interface Backend {
  readonly name: string;
  /** A fresh, empty store; `peer` is another replica on the same data (Redis) or undefined (memory). */
  fresh(): Promise<{ store: ConfigStore; peer?: () => Promise<ConfigStore> }>;
}

let redis: TestRedis | undefined;
let prefixes = 0;
const opened: ConfigStore[] = [];

const backends: Backend[] = [{ name: 'memory', fresh: async () => ({ store: new MemoryStore() }) }];
// Debian's redis-server is installed by CI (.ci/run); without it the Redis run is listed as skipped.
const redisRuns = hasRedisServer();
backends.push({
  name: 'redis',
  fresh: async () => {
    const prefix = `contract-${process.pid}-${++prefixes}:`;
    const open = async () => {
      const s = new RedisStore({ url: redis!.url, prefix });
      opened.push(s);
      await s.start();
      return s;
    };
    return { store: await open(), peer: open };
  },
});

beforeAll(async () => {
  if (hasRedisServer()) redis = await startRedis();
});
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
});
afterAll(async () => {
  await redis?.stop();
});

for (const backend of backends)
  withTool(backend.name !== 'redis' || redisRuns, 'redis-server').describe(
    `ConfigStore contract: ${backend.name}`,
    () => {
      it('gives every change the next global version; an entry’s revision is the version that wrote it', async () => {
        const { store } = await backend.fresh();
        expect(store.version()).toBe(0);
        const first = await store.commit({ ...meta, ops: [put('a'), put('b')] });
        expect(first).toMatchObject({ version: 1, actor: 'tester', summary: 'a change' });
        expect(first.at).toBeGreaterThan(Date.now() - 60_000);
        await store.commit({ ...meta, ops: [put('b', 5)] });
        expect(store.version()).toBe(2);
        expect(store.list('engines').map((e) => [e.name, e.revision])).toEqual([
          ['a', 1],
          ['b', 2],
        ]);
        expect(store.get('engines', 'b')!.value).toEqual(engine('b', 5));
        expect(store.get('engines', 'zz')).toBeUndefined();
      });

      it('refuses a stale revision and a stale version, changing nothing', async () => {
        const { store } = await backend.fresh();
        await store.commit({ ...meta, ops: [put('a')] });
        await store.commit({ ...meta, ops: [put('a', 2)] });
        const stale = store.commit({ ...meta, ops: [put('a', 3)], expect: new Map([['engines/a', 1]]) });
        await expect(stale).rejects.toBeInstanceOf(RevisionConflictError);
        await expect(stale).rejects.toMatchObject({ expected: 1, actual: 2 });
        // 0 means "must not exist".
        await expect(
          store.commit({ ...meta, ops: [put('a')], expect: new Map([['engines/a', 0]]) }),
        ).rejects.toBeInstanceOf(RevisionConflictError);
        await expect(store.commit({ ...meta, ops: [put('b')], expectVersion: 1 })).rejects.toBeInstanceOf(
          VersionConflictError,
        );
        expect(store.version()).toBe(2);
        expect(store.get('engines', 'b')).toBeUndefined();
        expect(store.get('engines', 'a')!.value).toEqual(engine('a', 2));
      });

      it('deletes: the entry is gone, may be created anew (expected revision 0), and revisions still grow', async () => {
        const { store } = await backend.fresh();
        await store.commit({ ...meta, ops: [put('a')] });
        await store.commit({ ...meta, ops: [{ op: 'delete', kind: 'engines', name: 'a' }] });
        expect(store.get('engines', 'a')).toBeUndefined();
        const again = await store.commit({ ...meta, ops: [put('a')], expect: new Map([['engines/a', 0]]) });
        expect(store.get('engines', 'a')!.revision).toBe(again.version);
        expect(again.version).toBe(3);
      });

      it('keeps the history: every record with its actor, time, summary and operations', async () => {
        const { store } = await backend.fresh();
        await store.commit({ actor: 'alice', summary: 'create a', ops: [put('a')] });
        await store.commit({
          actor: 'bob',
          summary: 'delete a',
          ops: [{ op: 'delete', kind: 'engines', name: 'a' }],
        });
        const records = await store.changes(1, 5);
        expect(records.map((r) => [r.version, r.actor, r.summary, r.ops.map((o) => o.op)])).toEqual([
          [1, 'alice', 'create a', ['put']],
          [2, 'bob', 'delete a', ['delete']],
        ]);
      });

      it('history, configuration at a version, diff, rollback as a new version', async () => {
        const { store } = await backend.fresh();
        const config = new ConfigAdmin(store, () => undefined);
        await store.commit({ actor: 'alice', summary: 'v1', ops: [put('a'), put('b')] });
        await store.commit({
          actor: 'bob',
          summary: 'v2',
          ops: [put('a', 7), { op: 'delete', kind: 'engines', name: 'b' }],
        });
        const history = await config.history(10);
        expect(history.versions.map((v) => [v.version, v.actor, v.summary])).toEqual([
          [2, 'bob', 'v2'],
          [1, 'alice', 'v1'],
        ]);
        expect(history.versions[0].at).toMatch(/^\d{4}-\d\d-\d\dT/);
        const at1 = await config.at(1);
        expect((at1.config.engines as { name: string }[]).map((e) => e.name)).toEqual(['a', 'b']);
        const diff = await config.diff(1, 2);
        expect(diff.changes.map((c) => [c.name, c.change, c.paths])).toEqual([
          ['a', 'changed', ['instances[0].weight']],
          ['b', 'removed', []],
        ]);
        const rolled = await config.rollback(1, undefined, SYSTEM);
        expect(rolled.version).toBe(3);
        expect((await store.changes(3, 3))[0].summary).toBe('rollback to version 1');
        expect(store.get('engines', 'a')!.value).toEqual(engine('a'));
        expect(store.get('engines', 'b')!.value).toEqual(engine('b'));
        await expect(config.at(9)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      });

      it('export → import into an empty store → identical export; a bad import changes nothing', async () => {
        const { store } = await backend.fresh();
        const config = new ConfigAdmin(store, () => undefined);
        await store.commit({ ...meta, ops: [put('a'), put('b', 3)] });
        const exported = config.export();
        const { store: empty } = await backend.fresh();
        const target = new ConfigAdmin(empty, () => undefined);
        const dry = await target.import(exported, true, undefined, SYSTEM);
        expect(dry).toMatchObject({ dryRun: true, version: 0 });
        expect(dry.changes.map((c) => c.change)).toEqual(['added', 'added']);
        expect(empty.version()).toBe(0);
        const done = await target.import(exported, false, undefined, SYSTEM);
        expect(done.version).toBe(1);
        const again = target.export();
        const { version: v1, exportedAt: t1, ...content1 } = exported;
        const { version: v2, exportedAt: t2, ...content2 } = again;
        expect([v1, v2, typeof t1, typeof t2]).toEqual([1, 1, 'string', 'string']);
        expect(content2).toEqual(content1);
        const bad = {
          ...exported,
          engines: [...(exported.engines as JsonValue[]), { name: 'Bad Name' }, engine('a')],
        };
        const refused = target.import(bad, false, undefined, SYSTEM);
        await expect(refused).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
        await expect(refused).rejects.toThrow(/engines\[2\]\.name: .*engines\[3\]\.name: duplicate "a"/);
        expect(empty.version()).toBe(1);
      });

      it('calls watchers with each change, in order', async () => {
        const { store } = await backend.fresh();
        const seen: number[] = [];
        store.watch((c: ChangeRecord) => seen.push(c.version));
        await store.commit({ ...meta, ops: [put('a')] });
        await store.commit({ ...meta, ops: [put('b')] });
        await waitFor(() => seen.length === 2, 'both changes');
        expect(seen).toEqual([1, 2]);
      });

      it('leases hand out growing fences and refuse a fenced write once the lease is someone else’s', async () => {
        const { store } = await backend.fresh();
        const a = await store.lease.acquire('a', 200);
        expect(a).toMatch(/^a:\d+$/);
        expect(await store.lease.acquire('b', 200)).toBeUndefined();
        expect(await store.lease.acquire('a', 200)).toBe(a); // already its own
        await store.putShared('health', [['e/i', { status: 'healthy' }]], a);
        expect(store.shared('health').get('e/i')).toEqual({ status: 'healthy' });
        // a's lease runs out (a paused leader); b takes over with a higher token.
        const b = await waitFor(() => store.lease.acquire('b', 5_000), 'b to take the lease', 5_000);
        expect(Number(b.split(':')[1])).toBeGreaterThan(Number(a!.split(':')[1]));
        await expect(store.putShared('health', [['e/i', { status: 'unhealthy' }]], a)).rejects.toBeInstanceOf(
          FencedError,
        );
        await expect(store.commit({ ...meta, ops: [put('x')], fence: a })).rejects.toBeInstanceOf(
          FencedError,
        );
        expect(store.shared('health').get('e/i')).toEqual({ status: 'healthy' });
        expect(await store.lease.renew(a!, 1_000)).toBe(false);
        expect(await store.lease.renew(b, 1_000)).toBe(true);
        await store.lease.release(b);
        expect(await store.lease.holder()).toBeUndefined();
      });

      it('shares runtime state: fields set and removed, heard by watchers', async () => {
        const { store, peer } = await backend.fresh();
        const other = peer ? await peer() : store;
        const heard: string[] = [];
        other.watchShared((c) => heard.push(`${c.ns}.${c.field}=${JSON.stringify(c.value)}`));
        await store.putShared('reports', [
          ['r1', { n: 1 }],
          ['r2', { n: 2 }],
        ]);
        await store.putShared('reports', [['r1', undefined]]);
        await waitFor(() => heard.length === 3, 'three shared changes');
        expect(heard).toEqual(['reports.r1={"n":1}', 'reports.r2={"n":2}', 'reports.r1=undefined']);
        expect([...other.shared('reports')]).toEqual([['r2', { n: 2 }]]);
      });
    },
  );
