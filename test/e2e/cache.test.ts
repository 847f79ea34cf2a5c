import * as grpc from '@grpc/grpc-js';
import type { EngineClient, InvokeResponse } from '../../gen/nerve/engine/v1/engine';
import { TestCluster } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

jest.setTimeout(30_000);

/** One Invoke with its response headers (x-nerve-cache) and the extra request metadata given. */
function call(
  client: EngineClient,
  engine: string,
  operation: string,
  payload: string,
  extra: Record<string, string> = {},
): Promise<{ res?: InvokeResponse; err?: grpc.ServiceError; cache?: string }> {
  const md = new grpc.Metadata();
  md.set('x-nerve-engine', engine);
  for (const [k, v] of Object.entries(extra)) md.set(k, v);
  return new Promise((resolve) => {
    let cache: string | undefined;
    const c = client.invoke(
      { operation, payload: Buffer.from(payload), metadata: {} },
      md,
      { deadline: Date.now() + 10_000 },
      (err, res) =>
        resolve({
          res: err ? undefined : res,
          err: err ?? undefined,
          // A trailers-only error carries it in its trailers.
          cache: cache ?? (err?.metadata.get('x-nerve-cache')[0] as string | undefined),
        }),
    );
    c.on('metadata', (m: grpc.Metadata) => (cache = m.get('x-nerve-cache')[0] as string | undefined));
  });
}

describe('response caches in the router', () => {
  let cluster: TestCluster;
  let client: EngineClient;
  const calls = () => [...cluster.engines.values()].reduce((n, e) => n + e.invocations, 0);
  const metrics = async () => (await fetch(`http://127.0.0.1:${cluster.router.adminPort}/metrics`)).text();

  beforeAll(async () => {
    cluster = await TestCluster.start([
      {
        name: 'fib',
        type: 'math',
        instances: 2,
        policy: {
          cache: {
            methods: ['/nerve.engine.v1.Engine/Invoke'],
            operations: ['fibonacci'],
            ttlMs: 500,
            maxEntries: 3,
            keyMetadata: ['x-tenant'],
          },
        },
      },
    ]);
    client = cluster.engineClient();
  });
  afterAll(async () => cluster?.stop());

  it('answers a repeated call from the cache: the engine never sees the hit', async () => {
    const first = await call(client, 'fib', 'fibonacci', '{"n":30}');
    expect(first.cache).toBe('miss');
    const before = calls();
    const second = await call(client, 'fib', 'fibonacci', '{"n":30}');
    expect(second.cache).toBe('hit');
    expect(second.res?.payload.toString()).toBe(first.res?.payload.toString());
    expect(calls()).toBe(before);
    // Another key: other bytes, other listed metadata.
    expect((await call(client, 'fib', 'fibonacci', '{"n":31}')).cache).toBe('miss');
    expect((await call(client, 'fib', 'fibonacci', '{"n":30}', { 'x-tenant': 'b' })).cache).toBe('miss');
    // Not a listed operation, or no-cache from the caller: forwarded, not marked.
    expect((await call(client, 'fib', 'prime', '{"n":7}')).cache).toBeUndefined();
    const bypass = await call(client, 'fib', 'fibonacci', '{"n":30}', { 'cache-control': 'no-cache' });
    expect(bypass.cache).toBeUndefined();
    expect(calls()).toBe(before + 4);
  });

  it('honours the TTL and the entry bound (least recently used evicted)', async () => {
    await call(client, 'fib', 'fibonacci', '{"n":40}');
    expect((await call(client, 'fib', 'fibonacci', '{"n":40}')).cache).toBe('hit');
    await new Promise((r) => setTimeout(r, 0));
    await waitFor(
      async () => (await call(client, 'fib', 'fibonacci', '{"n":40}')).cache === 'miss',
      'the entry to expire',
      3_000,
      100,
    );
    for (const n of [41, 42, 43, 44]) await call(client, 'fib', 'fibonacci', `{"n":${n}}`);
    expect((await call(client, 'fib', 'fibonacci', '{"n":41}')).cache).toBe('miss'); // evicted: 4 entries, bound 3
    expect(await metrics()).toMatch(/nerve_router_cache_evictions_total\{engine="fib"[^}]*\} [1-9]/);
  });

  it('makes one upstream call for 100 identical concurrent calls', async () => {
    for (const e of cluster.engines.values()) e.setFaults({ delayMs: 200 });
    const before = calls();
    const answers = await Promise.all(
      Array.from({ length: 100 }, () => call(client, 'fib', 'fibonacci', '{"n":77}')),
    );
    for (const e of cluster.engines.values()) e.setFaults({});
    expect(calls() - before).toBe(1);
    const tags = answers.map((a) => a.cache);
    expect(tags.filter((t) => t === 'miss')).toHaveLength(1);
    expect(tags.filter((t) => t === 'coalesced')).toHaveLength(99);
    expect(new Set(answers.map((a) => a.res?.payload.toString())).size).toBe(1);
    expect(await metrics()).toMatch(/nerve_router_cache_coalesced_total\{engine="fib"[^}]*\} 99/);
  });

  it('never caches an error', async () => {
    const bad1 = await call(client, 'fib', 'fibonacci', '{"n":-1}');
    expect(bad1.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const before = calls();
    const bad2 = await call(client, 'fib', 'fibonacci', '{"n":-1}');
    expect(bad2.err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad2.cache).toBe('miss');
    expect(calls()).toBe(before + 1);
  });

  it('is emptied when the engine version weights change', async () => {
    await call(client, 'fib', 'fibonacci', '{"n":50}');
    expect((await call(client, 'fib', 'fibonacci', '{"n":50}')).cache).toBe('hit');
    await cluster.cp.admin.specs.patch(
      'fib',
      {
        versions: [
          { name: 'v1', weight: 100 },
          { name: 'v2', weight: 0 },
        ],
      },
      undefined,
      {
        actor: 'test',
        via: 'rest',
        requestId: 't',
      },
    );
    await waitFor(() => cluster.router.state.engine('fib')?.cluster.versions.length === 2, 'the push');
    expect((await call(client, 'fib', 'fibonacci', '{"n":50}')).cache).toBe('miss');
  });
});
