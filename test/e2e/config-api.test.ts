import { internals } from '../helpers/internals';
import * as grpc from '@grpc/grpc-js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminClient } from '../../gen/nerve/admin/v1/admin';
import { TestCluster } from '../helpers/cluster';
import { spawnNerve } from '../helpers/process';
import { waitFor } from '../helpers/wait';

interface ApiError {
  error: { code: string; message: string; details: string[] };
}

/**
 * The write path and the versioned configuration as operators use them: REST with If-Match and ETags,
 * batches, history, diff, rollback, export and import; the same on admin gRPC; and `nerve config`.
 */
describe('configuration API: writes, versions, history, rollback, backup', () => {
  let cluster: TestCluster;
  let admin: AdminClient;
  const rest = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${cluster.apiBase}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: res.status,
      etag: res.headers.get('etag'),
      body: (await res.json()) as Record<string, unknown>,
    };
  };
  function call<Res>(name: keyof AdminClient, req: object): Promise<Res> {
    const method = admin[name] as unknown as (
      r: object,
      cb: (e: grpc.ServiceError | null, r: Res) => void,
    ) => void;
    return new Promise((resolve, reject) => method.call(admin, req, (e, r) => (e ? reject(e) : resolve(r))));
  }
  const spec = (name: string, port: number, weight = 100) => ({
    name,
    instances: [{ id: `${name}-1`, address: `127.0.0.1:${port}`, weight }],
  });

  beforeAll(async () => {
    cluster = await TestCluster.start([{ name: 'math', type: 'math', instances: 1 }]);
    admin = new AdminClient(`127.0.0.1:${cluster.cp.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    admin?.close();
    await cluster?.stop();
  });

  it('creates, replaces with If-Match, merge-patches and deletes engines over REST; routers follow', async () => {
    const address = cluster.engines.get('math-1')!.address;
    const port = Number(address.split(':')[1]);
    const created = await rest('POST', '/engines', spec('calc', port));
    expect(created.status).toBe(201);
    const revision = Number(JSON.parse(created.etag!));
    expect((created.body.engine as { revision: number }).revision).toBe(revision);
    await waitFor(() => cluster.router.state.engine('calc'), 'the router to learn of calc');

    const again = await rest('POST', '/engines', spec('calc', port));
    expect(again).toMatchObject({ status: 409, body: { error: { code: 'ALREADY_EXISTS' } } });

    const invalid = await rest('PUT', '/engines/calc', { instances: [{ id: 'x', address: 'nowhere' }] });
    expect(invalid.status).toBe(400);
    expect((invalid.body as unknown as ApiError).error.details).toEqual([
      'instances[0].address: must be host:port with a port from 1 to 65535',
    ]);

    const replaced = await rest('PUT', '/engines/calc', spec('calc', port, 50), {
      'if-match': `"${revision}"`,
    });
    expect(replaced.status).toBe(200);
    const stale = await rest('PUT', '/engines/calc', spec('calc', port, 60), { 'if-match': `"${revision}"` });
    expect(stale.status).toBe(409);
    expect((stale.body as unknown as ApiError).error).toMatchObject({ code: 'CONFLICT' });
    expect((stale.body as unknown as ApiError).error.message).toMatch(/changed concurrently/);

    const patched = await rest('PATCH', '/engines/calc', { policy: { timeoutMs: 1234 } });
    expect(patched.status).toBe(200);
    expect((patched.body.engine as { policy: { timeoutMs: number } }).policy.timeoutMs).toBe(1234);
    expect((patched.body.engine as { instances: { weight: number }[] }).instances[0].weight).toBe(50);
    const rename = await rest('PATCH', '/engines/calc', { name: 'other' });
    expect(rename.status).toBe(400);

    const deleted = await rest('DELETE', '/engines/calc', undefined, { 'if-match': patched.etag! });
    expect(deleted.status).toBe(200);
    await waitFor(() => !cluster.router.state.engine('calc'), 'the router to drop calc');
    expect((await rest('DELETE', '/engines/calc')).status).toBe(404);
  });

  it('takes an engine back exactly as GET gave it: PUT of the read changes nothing', async () => {
    const doc = {
      name: 'roundtrip',
      versions: [{ name: 'v1', weight: 100 }],
      instances: [
        { id: 'rt-1', address: '127.0.0.1:1', weight: 7 },
        { id: 'rt-2', address: '127.0.0.1:2', draining: true },
      ],
      policy: { degraded: { payload: 'busy' }, cache: { operations: ['price'] }, timeoutMs: 900 },
      registration: { maxWeight: 10 },
      adaptiveWeights: { enabled: true },
    };
    expect((await rest('POST', '/engines', doc)).status).toBe(201);
    const read = (await rest('GET', '/engines/roundtrip')).body as { engine: Record<string, unknown> };
    const version = internals(cluster.cp).store.version();
    const put = await rest('PUT', '/engines/roundtrip', read.engine);
    expect([put.status, JSON.stringify(put.body).slice(0, 300)]).toEqual([200, expect.any(String)]);
    expect(internals(cluster.cp).store.version()).toBe(version);
    expect(
      internals(cluster.cp)
        .engines.getNow('roundtrip')
        ?.instances.find((i) => i.id === 'rt-2')?.draining,
    ).toBe(true);
    expect((await rest('DELETE', '/engines/roundtrip')).status).toBeLessThan(300);
  });

  it('applies a batch atomically or not at all, and keeps the history with actor and summary', async () => {
    const before = internals(cluster.cp).engines.store.version();
    const bad = await rest('POST', '/batch', {
      operations: [
        { op: 'put', engine: 'b1', spec: spec('b1', 1) },
        { op: 'patch', engine: 'math', spec: { policy: { strategy: 'fastest' } } },
      ],
    });
    expect(bad.status).toBe(400);
    expect((bad.body as unknown as ApiError).error.details[0]).toMatch(
      /^operations\[1\]\.spec\.policy\.strategy: unknown strategy "fastest"/,
    );
    expect(internals(cluster.cp).engines.store.version()).toBe(before);
    const ok = await rest('POST', '/batch', {
      operations: [
        { op: 'put', engine: 'b1', spec: spec('b1', 1) },
        { op: 'put', engine: 'b2', spec: spec('b2', 2) },
      ],
    });
    expect(ok).toMatchObject({ status: 200, body: { version: before + 1 } });
    const staleVersion = await rest(
      'POST',
      '/batch',
      { operations: [{ op: 'delete', engine: 'b1' }] },
      { 'if-match': `"${before}"` },
    );
    expect(staleVersion.status).toBe(409);

    const history = (await rest('GET', '/config/history?limit=3')).body as {
      versions: { version: number; at: string; actor: string; summary: string }[];
    };
    expect(history.versions[0]).toMatchObject({ version: before + 1, summary: 'batch: put b1, put b2' });
    expect(history.versions[0].actor).toMatch(/127\.0\.0\.1/);
    expect(Date.parse(history.versions[0].at)).toBeGreaterThan(Date.now() - 60_000);
    expect(history.versions.map((v) => v.version)).toEqual([before + 1, before, before - 1]);
  });

  it('shows a version whole, diffs two, and rolls back as a new version', async () => {
    const v = internals(cluster.cp).engines.store.version();
    await rest('PATCH', '/engines/b1', { instances: [{ id: 'b1-1', address: '127.0.0.1:1', weight: 7 }] });
    const diff = (await rest('GET', `/config/diff?from=${v}&to=${v + 1}`)).body as {
      changes: { name: string; change: string; paths: string[] }[];
    };
    expect(diff.changes).toEqual([
      expect.objectContaining({ name: 'b1', change: 'changed', paths: ['instances[0].weight'] }),
    ]);
    const whole = (await rest('GET', `/config/history/${v}`)).body as {
      config: { engines: { name: string }[] };
    };
    expect(whole.config.engines.map((e) => e.name)).toEqual(['b1', 'b2', 'math']);
    const rolled = await rest('POST', '/config/rollback', { version: v });
    expect(rolled).toMatchObject({ status: 200, body: { version: v + 2 } });
    expect((await internals(cluster.cp).engines.get('b1'))!.instances[0].weight).toBe(100);
    expect((await rest('GET', '/config/history?limit=1')).body).toMatchObject({
      versions: [{ version: v + 2, summary: `rollback to version ${v}` }],
    });
    expect((await rest('POST', '/config/rollback', { version: 10_000 })).status).toBe(404);
  });

  it('exports and imports (dry run first), and refuses an invalid document whole', async () => {
    const exported = (await rest('GET', '/config/export')).body;
    const without = {
      ...exported,
      engines: (exported.engines as { name: string }[]).filter((e) => e.name !== 'b2'),
    };
    const v = internals(cluster.cp).engines.store.version();
    const dry = await rest('POST', '/config/import?dryRun=true', without);
    expect(dry.body).toMatchObject({
      dryRun: true,
      version: v,
      changes: [{ name: 'b2', change: 'removed' }],
    });
    expect(internals(cluster.cp).engines.store.version()).toBe(v);
    const broken = await rest('POST', '/config/import', {
      ...without,
      engines: [{ name: 'x', versions: [] }],
      alerts: 1,
    });
    expect(broken.status).toBe(400);
    expect((broken.body as unknown as ApiError).error.details).toEqual([
      '"alerts": unknown section (known: engines, alert-rules, notification-channels, silences, inhibit-rules, alert-routes, time-intervals, api-keys)',
      'engines[0].versions: Too small: expected array to have >=1 items',
      'engines[0].versions: at least one version needs a weight above 0',
    ]);
    const done = await rest('POST', '/config/import', without);
    expect(done.body).toMatchObject({ dryRun: false, version: v + 1 });
    expect(await internals(cluster.cp).engines.get('b2')).toBeUndefined();
  });

  it('offers the same operations on admin gRPC, with the same errors', async () => {
    const created = await call<{ engine: { revision: number } }>('createEngine', {
      specJson: JSON.stringify(spec('g1', 1)),
    });
    const stale = await call('patchEngine', {
      name: 'g1',
      patchJson: '{"policy":{"timeoutMs":99}}',
      ifMatch: created.engine.revision + 100,
    }).catch((e: grpc.ServiceError) => e);
    expect(stale).toMatchObject({ code: grpc.status.ABORTED });
    const bad = await call('createEngine', { specJson: '{nope' }).catch((e: grpc.ServiceError) => e);
    expect(bad).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/^spec_json is not JSON/),
    });
    const versions = await call<{ versions: { version: number; summary: string; atMs: number }[] }>(
      'listConfigVersions',
      { limit: 1, before: 0 },
    );
    expect(versions.versions[0]).toMatchObject({
      summary: 'create engine g1',
      version: created.engine.revision,
    });
    const exported = await call<{ documentJson: string }>('exportConfig', {});
    const dry = await call<{ changes: unknown[]; dryRun: boolean }>('importConfig', {
      documentJson: exported.documentJson,
      dryRun: true,
      ifMatchVersion: 0,
    });
    expect(dry).toEqual({ version: expect.any(Number), changes: [], dryRun: true, restored: false });
    const deleted = await call<{ version: number }>('deleteEngine', { name: 'g1', ifMatch: 0 });
    expect(deleted.version).toBe(created.engine.revision + 1);
  });

  it('shows the replica, leader and store on /stats, /xds/clients and /health, and store metrics for Prometheus', async () => {
    const stats = (await rest('GET', '/stats')).body as {
      replica: { id: string; leader: boolean; leaderFence: string };
      store: { backend: string; state: string; version: number; lagMs: number };
    };
    expect(stats.replica).toMatchObject({ id: cluster.cp.id, leader: true });
    expect(stats.replica.leaderFence).toMatch(new RegExp(`^${cluster.cp.id}:1$`));
    expect(stats.store).toMatchObject({ backend: 'memory', state: 'ok', lagMs: 0 });
    expect(stats.store.version).toBe(internals(cluster.cp).engines.store.version());
    expect((await rest('GET', '/xds/clients')).body).toMatchObject({
      replica: { id: cluster.cp.id },
      store: { state: 'ok' },
    });
    expect((await rest('GET', '/health')).body).toMatchObject({
      store: { state: 'ok' },
      replica: { leader: true },
    });
    const page = await (await fetch(`${cluster.apiBase}/metrics/prometheus`)).text();
    expect(page).toMatch(
      /nerve_store_operation_duration_seconds_count\{[^}]*operation="commit",outcome="ok"[^}]*\} [1-9]/,
    );
    expect(page).toMatch(/nerve_leader\{replica="[^"]+"\} 1/);
    expect(page).toMatch(/nerve_store_up\{replica="[^"]+"\} 1/);
    expect(page).toMatch(/nerve_leader_changes_total\{replica="[^"]+"\} 1/);
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8' });
    expect((lint.stdout + lint.stderr).trim()).toBe('');
  });

  it('nerve config export | import --dry-run | history talk to a control plane', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nerve-config-'));
    const file = join(dir, 'backup.json');
    const run = async (...args: string[]) => {
      const p = spawnNerve(['config', ...args, '--api', cluster.apiBase]);
      const { code } = await p.exited();
      return { code, out: p.stdout(), err: p.stderr() };
    };
    expect((await run('export', '--out', file)).code).toBe(0);
    const doc = JSON.parse(readFileSync(file, 'utf8')) as { format: string; engines: unknown[] };
    expect(doc.format).toBe('nerve-config/v1');
    const dry = await run('import', file, '--dry-run');
    expect(dry).toMatchObject({ code: 0 });
    expect(dry.out).toContain('dry run: valid, 0 change(s) would be applied');
    writeFileSync(file, JSON.stringify({ engines: [{ name: 'Bad' }] }));
    const refused = await run('import', file);
    expect(refused.code).toBe(1);
    expect(refused.err).toContain('400 INVALID_ARGUMENT: import refused, nothing applied');
    const history = await run('history', '--limit', '2');
    expect(history.code).toBe(0);
    expect(history.out.trim().split('\n')).toHaveLength(2);
    // A host base works as the full base does; an unreachable one fails in one line, no stack.
    const host = spawnNerve([
      'config',
      'history',
      '--limit',
      '1',
      '--api',
      cluster.apiBase.replace('/api/v1/nerve', ''),
    ]);
    expect((await host.exited()).code).toBe(0);
    const down = spawnNerve(['config', 'history', '--api', 'http://127.0.0.1:1']);
    expect((await down.exited()).code).toBe(1);
    expect(down.stderr().trim().split('\n')).toHaveLength(1);
    expect(down.stderr()).toMatch(
      /^nerve config: cannot reach the control plane at http:\/\/127\.0\.0\.1:1\/api\/v1\/nerve/,
    );
    const help = spawnNerve(['config', '--help']);
    await help.exited();
    expect(help.stdout()).toMatch(
      /^usage: nerve config export \[--out FILE\] \| import FILE \[--dry-run\] \| history/m,
    );
  });
});
