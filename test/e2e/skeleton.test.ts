import { DEFAULT_FEATURES } from '../../src/config/features';
import { internals } from '../helpers/internals';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { join, dirname } from 'node:path';
import { EngineCluster } from '../../gen/nerve/discovery/v1/resources';
import { nextSnapshot, type ResourceInput, servedType } from '../../src/model/snapshot';
import type { EngineHealthView, EngineView } from '../../src/control-plane/views/engine-views';
import { DemoEngine } from '../../src/engines/engine-server';
import { createAdsClient } from '../../src/protocol/ads';
import { createHealthClient } from '../helpers/health-client';
import { ENGINE_CLUSTER_TYPE, ROUTE_TABLE_TYPE } from '../../src/protocol/type-urls';
import { invoke, invokeError, logger, spread, TestCluster } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await TestCluster.start(
    [
      { name: 'math', type: 'math', instances: 2 },
      { name: 'crypto', type: 'crypto', instances: 2 },
      { name: 'weighted', type: 'echo', instances: 2 },
      { name: 'drained', type: 'echo', instances: 2 },
      { name: 'victim', type: 'echo', instances: 2 },
      { name: 'nacked', type: 'echo', instances: 2 },
    ],
    100,
    // The NACK test publishes snapshots by hand between real rebuilds; the fleet retry budget would add
    // one whenever calls change the fleet's rate (its own e2e is fleet-retry-budget.test.ts).
    { controlPlane: { features: { ...DEFAULT_FEATURES, fleetRetryBudget: false } } },
  );
});

afterAll(async () => {
  await cluster?.stop();
});

interface XdsTypeJson {
  typeUrl: string;
  sentVersion: string;
  ackedVersion: string;
  lastNack: { version: string; error: string; at: string } | null;
}
interface Bodies {
  engine: { engine: EngineView };
  engines: { engines: EngineView[]; nextCursor: string | null };
  health: { status: string };
  engineHealth: EngineHealthView;
  clients: { clients: { nodeId: string; types: XdsTypeJson[] }[] };
  error: { error: { code: string; message: string; details: string[]; requestId: string } };
}

async function json<K extends keyof Bodies>(
  _shape: K,
  path: string,
  init?: RequestInit,
): Promise<{ status: number; body: Bodies[K] }> {
  const res = await fetch(`${cluster.apiBase}${path}`, init);
  return { status: res.status, body: (await res.json()) as Bodies[K] };
}

async function routerXdsTypes(): Promise<XdsTypeJson[]> {
  const { body } = await json('clients', '/xds/clients');
  return body.clients.find((c) => c.nodeId === 'test-router')?.types ?? [];
}

describe('calls through the router', () => {
  it('reach both instances of each engine type, computing for real', async () => {
    const client = cluster.engineClient();
    // Exact rotation is unit-tested; here both real instances must take a fair share (a health-check push
    // on a loaded machine may restart the rotation midway).
    for (const engine of ['math', 'crypto']) {
      const counts = await spread(client, engine, 20);
      expect(Object.keys(counts).sort()).toEqual([`${engine}-1`, `${engine}-2`]);
      expect(Math.min(...Object.values(counts))).toBeGreaterThanOrEqual(7);
    }
    const fib = await invoke(client, 'math', 'fibonacci', '{"n":90}');
    expect(JSON.parse(fib.payload.toString())).toEqual({ n: 90, value: '2880067194370816120' });
    expect(fib).toMatchObject({ engine: 'math', version: 'v1' });
    const hash = await invoke(client, 'crypto', 'sha256', '{"data":"abc"}');
    expect(JSON.parse(hash.payload.toString()).sha256).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('pick the engine from :authority when no header names it', async () => {
    const client = cluster.engineClient({ 'grpc.default_authority': 'crypto' });
    const r = await invoke(client, undefined, 'sha256', '{"data":"x"}');
    expect(r.engine).toBe('crypto');
  });

  it('carry bidirectional streams', async () => {
    const md = new grpc.Metadata();
    md.set('x-nerve-engine', 'math');
    const call = cluster.engineClient().invokeStream(md);
    const answers: string[] = [];
    call.on('data', (r: { payload: Buffer }) => answers.push(r.payload.toString()));
    const ended = new Promise((resolve, reject) => {
      call.on('end', resolve);
      call.on('error', reject);
    });
    call.write({ operation: 'prime', payload: Buffer.from('{"n":97}'), metadata: {} });
    call.write({ operation: 'echo', payload: Buffer.from('hi'), metadata: {} });
    call.end();
    await ended;
    expect(answers).toEqual(['{"n":97,"prime":true}', 'hi']);
  });

  it('pass engine errors through with their status and message', async () => {
    const err = await invokeError(cluster.engineClient(), 'math', 'fibonacci', '{"n":-1}');
    expect(err.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(err.details).toBe('fibonacci: "n" must be an integer from 0 to 5000');
  });

  it('answer NOT_FOUND naming an unknown engine', async () => {
    const err = await invokeError(cluster.engineClient(), 'ghost', 'echo');
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toMatch(/^no engine "ghost" \(from x-nerve-engine\); known: /);
    const anonymous = await invokeError(cluster.engineClient(), undefined, 'echo');
    expect(anonymous.code).toBe(grpc.status.NOT_FOUND);
    expect(anonymous.details).toContain('no engine for /nerve.engine.v1.Engine/Invoke');
  });
});

describe('admin changes reach the router', () => {
  it('a weight set through the admin gRPC API changes the split', async () => {
    const admin = cluster.adminClient();
    const res = await admin.setInstanceWeight({
      engine: 'weighted',
      instanceId: 'weighted-1',
      weight: 300,
    });
    expect(res.engine?.instances.find((i) => i.id === 'weighted-1')?.weight).toBe(300);
    await waitFor(
      () =>
        cluster.router.state.engine('weighted')?.cluster.endpoints.find((e) => e.id === 'weighted-1')
          ?.weight === 300,
      'the new weight at the router',
    );
    expect(await spread(cluster.engineClient(), 'weighted', 40)).toEqual({
      'weighted-1': 30,
      'weighted-2': 10,
    });
    await admin.setInstanceWeight({
      engine: 'weighted',
      instanceId: 'weighted-2',
      weight: 0,
    });
    await waitFor(() => cluster.routable('weighted').join() === 'weighted-1', 'weighted-2 out of rotation');
    expect(await spread(cluster.engineClient(), 'weighted', 10)).toEqual({ 'weighted-1': 10 });
  });

  it('an instance drained through REST gets no more calls, and none left means UNAVAILABLE naming the engine', async () => {
    const drained = await json('engine', '/engines/drained/instances/drained-2/drain', { method: 'POST' });
    expect(drained.status).toBe(200);
    expect(drained.body.engine.instances.find((i) => i.id === 'drained-2')?.health).toBe('draining');
    await waitFor(() => cluster.routable('drained').join() === 'drained-1', 'drained-2 out of rotation');
    expect(await spread(cluster.engineClient(), 'drained', 10)).toEqual({ 'drained-1': 10 });

    await json('engine', '/engines/drained/instances/drained-1/drain', { method: 'POST' });
    await waitFor(() => cluster.routable('drained').length === 0, 'no routable instance');
    const err = await invokeError(cluster.engineClient(), 'drained', 'echo');
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toBe('engine "drained" has no healthy instance (2 draining)');
  });

  it('instances added and removed through the admin API join and leave the rotation', async () => {
    const admin = cluster.adminClient();
    const extra = await new DemoEngine({
      type: 'math',
      name: 'math',
      id: 'math-3',
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    try {
      await admin.addInstance({
        engine: 'math',
        id: 'math-3',
        address: extra.address,
        version: '',
        weight: 100,
        priority: 0,
        createEngine: false,
      });
      await waitFor(() => cluster.routable('math').includes('math-3'), 'math-3 routable');
      expect(Object.keys(await spread(cluster.engineClient(), 'math', 30)).sort()).toEqual([
        'math-1',
        'math-2',
        'math-3',
      ]);
      await admin.removeInstance({ engine: 'math', instanceId: 'math-3' });
      await waitFor(() => !cluster.routable('math').includes('math-3'), 'math-3 gone');
    } finally {
      await extra.stop(200);
    }
  });

  it('bad admin requests get precise statuses and change nothing', async () => {
    const admin = cluster.adminClient();
    const before = await admin.getEngine({ name: 'math' });
    const bad = await admin
      .addInstance({
        engine: 'math',
        id: 'x',
        address: 'nowhere',
        version: '',
        weight: 1,
        priority: 0,
        createEngine: false,
      })
      .catch((e: grpc.ServiceError) => e);
    expect(bad).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'invalid engine "math": instances[2].address: must be host:port with a port from 1 to 65535',
    });
    const missing = await admin.getEngine({ name: 'ghost' }).catch((e: grpc.ServiceError) => e);
    expect(missing).toMatchObject({ code: grpc.status.NOT_FOUND, details: 'engine "ghost" not found' });
    const dup = await admin
      .addInstance({
        engine: 'math',
        id: 'math-1',
        address: '127.0.0.1:1',
        version: '',
        weight: 1,
        priority: 0,
        createEngine: false,
      })
      .catch((e: grpc.ServiceError) => e);
    expect(dup).toMatchObject({ code: grpc.status.ALREADY_EXISTS });
    const after = await admin.getEngine({ name: 'math' });
    expect(after.engine?.revision).toBe(before.engine?.revision);
  });
});

describe('health checking', () => {
  it('takes a killed instance out, keeps calls succeeding on the other, and puts it back when it recovers', async () => {
    const victim = cluster.engines.get('victim-1')!;
    const port = victim.port;
    victim.kill();
    await waitFor(() => cluster.routable('victim').join() === 'victim-2', 'victim-1 out of rotation');
    const health = await json('engineHealth', '/health/victim');
    expect(health.body).toMatchObject({ name: 'victim', status: 'degraded', healthyInstances: 1 });
    expect(health.body.instances[0]).toMatchObject({ id: 'victim-1', health: 'unhealthy' });
    expect(health.body.instances[0].lastError).toMatch(/^UNAVAILABLE/);
    expect((await json('health', '/health')).body.status).toBe('degraded');
    expect(await spread(cluster.engineClient(), 'victim', 20)).toEqual({ 'victim-2': 20 });

    const revived = await new DemoEngine({
      type: 'echo',
      name: 'victim',
      id: 'victim-1',
      host: '127.0.0.1',
      port,
      logger,
    }).start();
    cluster.engines.set('victim-1', revived);
    await waitFor(
      () => cluster.routable('victim').join() === 'victim-1,victim-2',
      'victim-1 back in rotation',
    );
  });
});

describe('xDS protocol with the router', () => {
  it('NACKs an invalid config with a precise reason, keeps serving the last good one, and is not sent it again', async () => {
    const ads = cluster.router.ads.states.get(ENGINE_CLUSTER_TYPE)!;
    const goodVersion = ads.acceptedVersion;
    const current = internals(cluster.cp).cache.snapshot;
    const content = new Map<string, ResourceInput[]>();
    for (const [typeUrl, t] of current.types)
      content.set(
        typeUrl,
        [...t.resources.values()].map((r) => ({ name: r.name, body: r.body })),
      );
    const nacked = EngineCluster.decode(
      current.types.get(ENGINE_CLUSTER_TYPE)!.resources.get('nacked')!.body,
    );
    nacked.endpoints[0].address = 'bogus';
    content.set(
      ENGINE_CLUSTER_TYPE,
      content
        .get(ENGINE_CLUSTER_TYPE)!
        .map((r) =>
          r.name === 'nacked' ? { name: r.name, body: EngineCluster.encode(nacked).finish() } : r,
        ),
    );
    const bad = nextSnapshot(current, content);
    internals(cluster.cp).cache.publish(bad);

    const expected = 'EngineCluster "nacked": endpoint "nacked-1" address "bogus" is not host:port';
    const client = await waitFor(async () => {
      const t = (await routerXdsTypes()).find((x) => x.typeUrl === ENGINE_CLUSTER_TYPE);
      return t?.lastNack ? t : undefined;
    }, 'the NACK at the control plane');
    expect(client.lastNack).toMatchObject({
      version: bad.types.get(ENGINE_CLUSTER_TYPE)!.version,
      error: expected,
    });
    expect(client.ackedVersion).toBe(goodVersion);
    expect(ads).toMatchObject({ acceptedVersion: goodVersion, rejected: 1, lastNack: { error: expected } });
    expect(await spread(cluster.engineClient(), 'nacked', 4)).toEqual({ 'nacked-1': 2, 'nacked-2': 2 });

    // Another type changes while the bad clusters stay: the route table is pushed, the rejected clusters are not.
    const routes = cluster.router.ads.states.get(ROUTE_TABLE_TYPE)!;
    const routeUpdates = routes.updates;
    const nudged = new Map(content);
    nudged.set(ROUTE_TABLE_TYPE, [
      {
        name: 'nerve',
        body: Buffer.concat([
          Buffer.from(current.types.get(ROUTE_TABLE_TYPE)!.resources.get('nerve')!.body),
          Buffer.from([0x0a, 0x03, 0x0a, 0x01, 0x7a]),
        ]),
      },
    ]);
    internals(cluster.cp).cache.publish(nextSnapshot(bad, nudged));
    await waitFor(() => routes.updates > routeUpdates, 'the route table update');
    expect(ads.rejected).toBe(1);

    // The next real change (a rebuild from the store) is sent and accepted: the good content again, so
    // the good version again (versions are content digests).
    const updates = ads.updates;
    await cluster.cp.flush();
    await waitFor(() => ads.updates > updates, 'the next good version');
    expect(ads.acceptedVersion).toBe(goodVersion);
    expect(ads.rejected).toBe(1);
  });

  it('closes a stream that breaks the protocol with INVALID_ARGUMENT and keeps serving the others', async () => {
    const client = createAdsClient(`127.0.0.1:${cluster.cp.port}`);
    const stream = client.StreamAggregatedResources();
    const status = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('error', () => undefined);
    stream.write({
      version_info: '',
      node: { id: 'rogue', cluster: '' },
      resource_names: [],
      type_url: '',
      response_nonce: '',
      error_detail: null,
    });
    expect(await status).toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'DiscoveryRequest.type_url is required on an aggregated stream',
    });
    client.close();
    expect(
      internals(cluster.cp)
        .ads.clients()
        .map((c) => c.nodeId),
    ).toEqual(['test-router']);
    expect(await spread(cluster.engineClient(), 'crypto', 2)).toEqual({ 'crypto-1': 1, 'crypto-2': 1 });
  });

  it('lists the router under /xds/clients with the version it ACKed per type', async () => {
    const types = await waitFor(async () => {
      const t = await routerXdsTypes();
      return t.length === 4 && t.every((x) => x.ackedVersion !== '' && x.ackedVersion === x.sentVersion)
        ? t
        : undefined;
    }, 'every type ACKed at its latest version');
    expect(types.map((t) => t.typeUrl).sort()).toEqual([
      'type.googleapis.com/nerve.discovery.v1.EngineCircuits',
      'type.googleapis.com/nerve.discovery.v1.EngineCluster',
      'type.googleapis.com/nerve.discovery.v1.EngineOverrides',
      'type.googleapis.com/nerve.discovery.v1.RouteTable',
    ]);
    // The router's ACK of the newest EngineCluster timed its convergence.
    const page = await (await fetch(`http://127.0.0.1:${cluster.api.port}/metrics`)).text();
    expect(page).toMatch(/nerve_xds_convergence_seconds\{type="EngineCluster"[^}]*\} \d/);
    // /health and /stats count the streams without building each one's status.
    const streams = internals(cluster.cp).ads.clients().length;
    const health = (await (await fetch(`${cluster.apiBase}/health`)).json()) as { xdsClients: number };
    const stats = (await (await fetch(`${cluster.apiBase}/stats`)).json()) as { xdsClients: number };
    expect([health.xdsClients, stats.xdsClients]).toEqual([streams, streams]);
    // The router supports resource TTLs: it holds the variant served to such clients.
    expect(types.find((t) => t.typeUrl === ENGINE_CLUSTER_TYPE)?.ackedVersion).toBe(
      servedType(internals(cluster.cp).cache.snapshot, ENGINE_CLUSTER_TYPE, true)?.version,
    );
  });
});

describe('control plane surfaces', () => {
  it('receives the router load reports', async () => {
    await spread(cluster.engineClient(), 'crypto', 10);
    const load = await waitFor(async () => {
      const e = await cluster.cp.admin.views.getEngine('crypto');
      const total = e.instances.reduce((n, i) => n + (i.load?.requests ?? 0), 0);
      return total > 0 ? e.instances : undefined;
    }, 'a load report for crypto');
    // Every instance that served calls has a latency (one without calls in the window may have none).
    expect(load.every((i) => i.load === undefined || i.load.requests === 0 || i.load.p50Ms > 0)).toBe(true);
  });

  it('serves the documented REST shapes with cursor pagination', async () => {
    const page1 = await json('engines', '/engines?limit=2');
    expect(page1.status).toBe(200);
    expect(page1.body.engines.map((e) => e.name)).toEqual(['crypto', 'drained']);
    expect(page1.body.engines[0].instances[0]).toEqual(
      expect.objectContaining({
        id: 'crypto-1',
        address: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
        version: 'v1',
        weight: 100,
        health: 'healthy',
      }),
    );
    const page2 = await json('engines', `/engines?limit=2&cursor=${page1.body.nextCursor}`);
    expect(page2.body.engines.map((e) => e.name)).toEqual(['math', 'nacked']);
    const last = await json('engines', `/engines?limit=2&cursor=${page2.body.nextCursor}`);
    expect(last.body).toMatchObject({ nextCursor: null });
    expect(last.body.engines.map((e) => e.name)).toEqual(['victim', 'weighted']);
    const one = await json('engine', '/engines/math');
    expect(one.body.engine.versions).toEqual([{ name: 'v1', weight: 100 }]);
    const missing = await json('error', '/engines/nope');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toEqual({
      code: 'NOT_FOUND',
      message: 'engine "nope" not found',
      details: [],
      requestId: expect.any(String),
    });
  });

  it('answers grpc.health.v1 and server reflection on the xDS port', async () => {
    const health = createHealthClient(`127.0.0.1:${cluster.cp.port}`);
    const status = await new Promise((resolve, reject) =>
      health.Check({ service: '' }, { deadline: Date.now() + 2000 }, (e, r) =>
        e ? reject(e) : resolve(r?.status),
      ),
    );
    health.close();
    expect(status).toBe('SERVING');

    const reflectionProto = join(
      dirname(require.resolve('@grpc/reflection/package.json')),
      'build/proto/grpc/reflection/v1/reflection.proto',
    );
    const pkg = protoLoader.loadSync(reflectionProto, { keepCase: true, defaults: true, oneofs: true });
    const Ctor = grpc.makeGenericClientConstructor(
      pkg['grpc.reflection.v1.ServerReflection'] as grpc.ServiceDefinition,
      'ServerReflection',
    );
    const client = new Ctor(`127.0.0.1:${cluster.cp.port}`, grpc.credentials.createInsecure());
    interface ReflectionResponse {
      list_services_response?: { service: { name: string }[] };
      file_descriptor_response?: { file_descriptor_proto: Buffer[] };
      error_response?: { error_message: string };
    }
    const call = (
      client as unknown as { ServerReflectionInfo(): grpc.ClientDuplexStream<object, ReflectionResponse> }
    ).ServerReflectionInfo();
    const responses: ReflectionResponse[] = [];
    const ask = (request: object) =>
      new Promise<ReflectionResponse>((resolve, reject) => {
        call.once('data', resolve);
        call.once('error', reject);
        call.write(request);
      });
    responses.push(await ask({ list_services: '' }));
    // What grpcurl does for `describe` and for calls: the file defining a symbol, with its dependencies.
    responses.push(await ask({ file_containing_symbol: 'nerve.admin.v1.Admin' }));
    call.end();
    client.close();
    const services = responses[0].list_services_response!.service.map((x) => x.name);
    expect(services).toEqual(
      expect.arrayContaining([
        'nerve.admin.v1.Admin',
        'envoy.service.discovery.v3.AggregatedDiscoveryService',
        'grpc.health.v1.Health',
        'nerve.report.v1.ReportService',
      ]),
    );
    const files = responses[1].file_descriptor_response!.file_descriptor_proto.map((b) =>
      b.toString('latin1'),
    );
    // @grpc/reflection names files by package; the dependency holding EnginePolicy is served alongside.
    expect(files.some((f) => f.includes('nerve.admin.v1') && f.includes('SetInstanceWeight'))).toBe(true);
    expect(files.some((f) => f.includes('nerve.discovery.v1') && f.includes('EnginePolicy'))).toBe(true);
  });
});
