import { withTool } from '../helpers/requires';
import { internals } from '../helpers/internals';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { startApi } from '../../src/api/server';
import { CLUSTER_TYPE } from '../../src/protocol/type-urls';
import { DEFAULT_KEEPALIVE } from '../../src/router/net/keepalive';
import { openAdsStream } from '../../src/router/xds/ads-codec';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { RedisStore } from '../../src/store/redis/redis-store';
import { engineSpec, logger } from '../helpers/cluster';
import { hasRedisServer, startRedis, type TestRedis } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

interface Replica {
  readonly cp: ControlPlane;
  readonly api: Awaited<ReturnType<typeof startApi>>;
  readonly base: string;
}

const describeRedis = withTool(hasRedisServer(), 'redis-server').describe;

describeRedis('a Redis that lost its data: noticed on every replica, never adopted, restored whole', () => {
  let redis: TestRedis;
  const replicas: Replica[] = [];
  let prefix = 0;
  let currentPrefix = '';

  const start = async (): Promise<Replica> => {
    const cp = await ControlPlane.start({
      store: new RedisStore({ url: redis.url, prefix: currentPrefix, identityCheckMs: 200 }),
      callLimits: {
        perAddressPerMinute: 6000,
        perPrincipalPerMinute: 6000,
        redis: { kind: 'url', url: redis.url },
        prefix: currentPrefix,
      },
      logger,
      host: '127.0.0.1',
      xdsPort: 0,
      healthChecks: false,
      engines: [
        engineSpec({
          name: 'calc',
          versions: [{ name: 'v1', weight: 100 }],
          instances: [{ id: 'c1', address: '127.0.0.1:1' }],
        }),
      ],
    });
    const api = await startApi(cp, logger, '127.0.0.1', 0);
    const r = { cp, api, base: `http://127.0.0.1:${api.port}/api/v1/nerve` };
    replicas.push(r);
    return r;
  };
  const call = async (r: Replica, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${r.base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as Record<string, unknown> };
  };
  const storeState = async (r: Replica) =>
    ((await call(r, 'GET', '/health')).body.store as { state: string; reason?: string }).state;
  const engine = (name: string) => ({ name, versions: [{ name: 'v1', weight: 100 }], instances: [] });

  beforeAll(async () => {
    redis = await startRedis();
  });
  beforeEach(async () => {
    currentPrefix = `loss${++prefix}:`;
    for (let i = 0; i < 3; i++) await start();
    expect((await call(replicas[0], 'POST', '/engines', engine('beta'))).status).toBe(201);
    await waitFor(
      async () =>
        (await Promise.all(replicas.map((r) => call(r, 'GET', '/engines/beta')))).every(
          (x) => x.status === 200,
        ),
      'beta on every replica',
    );
  });
  afterEach(async () => {
    for (const r of replicas.splice(0)) {
      await r.api.close();
      await r.cp.stop(200);
      await internals(r.cp).store.close();
    }
  });
  afterAll(async () => {
    await redis.stop();
  });

  it('diverges on a restart without data, refuses writes, and scripts/restore.sh writes the backup whole', async () => {
    const backup = (await call(replicas[1], 'GET', '/config/export')).body;
    const file = join(mkdtempSync(join(tmpdir(), 'nerve-backup-')), 'backup.json');
    writeFileSync(file, JSON.stringify(backup));
    await redis.restartEmpty();
    await waitFor(
      async () => (await Promise.all(replicas.map(storeState))).every((s) => s === 'diverged'),
      'every replica says diverged',
      15_000,
    );
    const refused = await call(replicas[0], 'POST', '/engines', engine('gamma'));
    expect(refused.status).toBe(503);
    expect(JSON.stringify(refused.body)).toMatch(/diverged/);
    for (const r of replicas) expect((await call(r, 'GET', '/engines/beta')).status).toBe(200);
    const stats = (await call(replicas[2], 'GET', '/stats')).body;
    expect(JSON.stringify(stats)).toMatch(/"state":"diverged"/);
    // A replica started on that Redis now does not serve it as a new, empty store.
    const late = await start();
    expect(await storeState(late)).toBe('diverged');
    const ready = await call(late, 'GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.reason).toMatch(/holds no configuration/);
    // Nor does it give routers an empty configuration: its ADS refuses them.
    const ads = openAdsStream(`127.0.0.1:${late.cp.port}`, DEFAULT_KEEPALIVE);
    const refusedAds = await new Promise<{ code: number; message: string }>((resolve) => {
      ads.on('error', (e) => resolve(e));
      ads.on('data', () => resolve({ code: 0, message: 'answered' }));
      ads.write({
        version_info: '',
        node: { id: 'probe', cluster: 'test' },
        resource_names: [],
        type_url: CLUSTER_TYPE,
        response_nonce: '',
        error_detail: null,
      });
    });
    ads.close();
    expect(refusedAds.code).toBe(14); // UNAVAILABLE
    expect(refusedAds.message).toMatch(/holds no configuration/);

    const restored = await new Promise<string>((resolve, reject) =>
      execFile(
        'bash',
        [join(__dirname, '..', '..', 'scripts', 'restore.sh'), replicas[0].base, file],
        { timeout: 60_000 },
        (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
      ),
    );
    expect(restored).toMatch(/restored .* whole into a store that had diverged: \d+ entries, version \d+/);
    await waitFor(
      async () => (await Promise.all(replicas.map(storeState))).every((s) => s === 'ok'),
      'every replica follows the restored store',
      15_000,
    );
    const direct = new Redis(redis.url);
    try {
      expect(await direct.hkeys(`${currentPrefix}config:values`)).toEqual(
        expect.arrayContaining(['engines/beta', 'engines/calc']),
      );
    } finally {
      direct.disconnect();
    }
    expect((await call(replicas[0], 'POST', '/engines', engine('gamma'))).status).toBe(201);
    await waitFor(
      async () =>
        (await Promise.all(replicas.map((r) => call(r, 'GET', '/engines/gamma')))).every(
          (x) => x.status === 200,
        ),
      'gamma on every replica, the late one too',
    );
  }, 60_000);

  it('reseeds the store from a replica over REST when no backup is newer', async () => {
    const direct = new Redis(redis.url);
    try {
      for (const key of await direct.keys(`${currentPrefix}*`)) await direct.del(key);
    } finally {
      direct.disconnect();
    }
    await waitFor(
      async () => (await Promise.all(replicas.map(storeState))).every((s) => s === 'diverged'),
      'every replica says diverged',
      15_000,
    );
    const reseed = await call(replicas[2], 'POST', '/config/store/reseed');
    expect(reseed.status).toBe(200);
    expect(reseed.body).toMatchObject({ previousState: 'diverged', entries: 2 });
    await waitFor(
      async () => (await Promise.all(replicas.map(storeState))).every((s) => s === 'ok'),
      'every replica follows the reseeded store',
      15_000,
    );
    const versions = await Promise.all(
      replicas.map(async (r) => (await call(r, 'GET', '/health')).body.store),
    );
    expect(
      new Set(versions.map((v) => JSON.stringify(v && (v as { generation: string }).generation))).size,
    ).toBe(1);
    expect((await call(replicas[1], 'POST', '/engines', engine('delta'))).status).toBe(201);
  }, 60_000);

  it('a hung Redis holds no read: reads answer at once, the store says unavailable, writes fail fast', async () => {
    const r = replicas[0];
    await waitFor(() => r.cp.limits.shared, 'the rate limiter on Redis');
    redis.pause();
    try {
      const timed = async (method: string, path: string, body?: unknown) => {
        const startMs = Date.now();
        const res = await call(r, method, path, body);
        return { ...res, ms: Date.now() - startMs };
      };
      const reads = [];
      for (let i = 0; i < 5; i++) reads.push(await timed('GET', '/engines/beta'));
      expect(reads.every((x) => x.status === 200)).toBe(true);
      expect(Math.max(...reads.map((x) => x.ms))).toBeLessThan(500);
      await waitFor(async () => (await storeState(r)) === 'unavailable', 'the store said unavailable', 3_000);
      const write = await timed('POST', '/engines', engine('eps'));
      expect(write.status).toBe(503);
      expect(write.ms).toBeLessThan(500);
    } finally {
      redis.resume();
    }
    await waitFor(async () => (await storeState(r)) === 'ok', 'the store back', 10_000);
    expect((await call(r, 'GET', '/engines/eps')).status).toBe(404);
  }, 60_000);
});
