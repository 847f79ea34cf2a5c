import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import {
  AdminClient,
  type CaptureCpuProfileRequest,
  type CaptureCpuProfileResponse,
  type GetFeaturesRequest,
  type GetFeaturesResponse,
  type SetLogLevelRequest,
  type SetLogLevelResponse,
} from '../../gen/nerve/admin/v1/admin';
import { unary } from '../helpers/cluster';
import { spawnNerve, type Spawned } from '../helpers/process';
import { waitFor } from '../helpers/wait';

const ZERO_PORTS = ['--api-port', '0', '--xds-port', '0', '--router-port', '0', '--router-admin-port', '0'];
const running: Spawned[] = [];

afterEach(() => {
  for (const p of running.splice(0))
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

type Line = Record<string, unknown> & { component: string; message: string };

function lines(p: Spawned): Line[] {
  return p
    .stderr()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Line);
}

/** An OTLP/HTTP collector: what was POSTed to /v1/traces. */
async function collector(): Promise<{ url: string; bodies: unknown[]; close(): void }> {
  const bodies: unknown[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      if (req.url === '/v1/traces' && req.headers['content-type'] === 'application/json')
        bodies.push(JSON.parse(body));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, bodies, close: () => server.close() };
}

function call(port: string, metadata: Record<string, string>): Promise<void> {
  const client = new EngineClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve, reject) =>
    client.invoke(
      { operation: 'echo', payload: Buffer.from('x'), metadata: {} },
      md,
      { deadline: Date.now() + 5_000 },
      (err) => {
        client.close();
        if (err) reject(err);
        else resolve();
      },
    ),
  );
}

describe('tracing: a W3C traceparent through the router', () => {
  it("appears in the router's, the control plane's and the engine's logs, with the router's span as the engine's parent, and is exported over OTLP", async () => {
    const otlp = await collector();
    const demo = spawnNerve(['demo', ...ZERO_PORTS, '--engines', '1', '--instances', '1'], {
      LOG_LEVEL: 'info',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    });
    running.push(demo);
    try {
      await demo.waitForOutput(/ready/);
      const routerPort = demo.stdout().match(/router +127\.0\.0\.1:(\d+)/)![1];
      const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
      const parent = '00f067aa0ba902b7';
      await call(routerPort, { 'x-nerve-engine': 'echo', traceparent: `00-${traceId}-${parent}-01` });

      const traced = await waitFor(() => {
        const mine = lines(demo).filter((l) => l.message === 'traced call' && l.traceId === traceId);
        const by = (c: string) => mine.find((l) => l.component === c);
        return by('router') && by('engine') && by('control-plane') ? mine : undefined;
      }, 'the trace in the router, engine and control-plane logs');
      const router = traced.find((l) => l.component === 'router')!;
      const engine = traced.find((l) => l.component === 'engine')!;
      const cp = traced.find((l) => l.component === 'control-plane')!;
      expect(router).toMatchObject({ parentSpanId: parent, status: 0, 'nerve.engine': 'echo' });
      expect(router.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(router.spanId).not.toBe(parent);
      // The engine received the traceparent with the router's span as its parent.
      expect(engine).toMatchObject({ parentSpanId: router.spanId, engine: 'echo' });
      expect(cp).toMatchObject({ spanId: router.spanId, router: 'demo-router', engine: 'echo' });
      expect(cp.instance).toBe(router['nerve.instance']);

      const body = (await waitFor(() => otlp.bodies[0], 'an OTLP export')) as {
        resourceSpans: {
          resource: { attributes: { key: string; value: { stringValue?: string } }[] };
          scopeSpans: { spans: Record<string, unknown>[] }[];
        }[];
      };
      const rs = body.resourceSpans[0];
      expect(rs.resource.attributes).toContainEqual({
        key: 'service.name',
        value: { stringValue: 'nerve-router' },
      });
      const span = rs.scopeSpans[0].spans[0];
      expect(span).toMatchObject({
        traceId,
        spanId: router.spanId,
        parentSpanId: parent,
        kind: 2,
        name: '/nerve.engine.v1.Engine/Invoke',
        status: { code: 1 },
      });
      expect(BigInt(span.endTimeUnixNano as string)).toBeGreaterThan(
        BigInt(span.startTimeUnixNano as string),
      );

      // Unsampled and absent traceparents make no log line at info: the volume stays zero per call.
      const before = lines(demo).length;
      for (let i = 0; i < 20; i++) await call(routerPort, { 'x-nerve-engine': 'echo' });
      await call(routerPort, { 'x-nerve-engine': 'echo', traceparent: `00-${traceId}-${parent}-00` });
      expect(
        lines(demo)
          .slice(before)
          .filter((l) => l.message === 'traced call'),
      ).toEqual([]);
    } finally {
      otlp.close();
    }
  });

  it('starts a sampled trace for a call without one when TRACE_SAMPLE_RATIO is 1', async () => {
    const demo = spawnNerve(['demo', ...ZERO_PORTS, '--engines', '1', '--instances', '1'], {
      LOG_LEVEL: 'info',
      TRACE_SAMPLE_RATIO: '1',
    });
    running.push(demo);
    await demo.waitForOutput(/ready/);
    const routerPort = demo.stdout().match(/router +127\.0\.0\.1:(\d+)/)![1];
    await call(routerPort, { 'x-nerve-engine': 'echo' });
    const [router, engine] = await waitFor(() => {
      const r = lines(demo).find((l) => l.component === 'router' && l.message === 'traced call');
      const e = lines(demo).find((l) => l.component === 'engine' && l.message === 'traced call');
      return r && e ? [r, e] : undefined;
    }, 'a trace the router started');
    expect(router.parentSpanId).toBeUndefined();
    expect(engine).toMatchObject({ traceId: router.traceId, parentSpanId: router.spanId });

    // The router's admin port changes its levels at run time, as Envoy's /logging does.
    const admin = demo.stdout().match(/router admin +(http:\/\/127\.0\.0\.1:\d+)/)![1];
    const set = await fetch(`${admin}/logging?level=debug&component=router`, { method: 'POST' });
    expect(await set.json()).toEqual({
      levels: expect.objectContaining({ router: 'debug', engine: 'info' }),
    });
    await call(routerPort, { 'x-nerve-engine': 'echo' });
    await waitFor(
      () => lines(demo).find((l) => l.component === 'router' && l.message === 'routed'),
      'a debug line',
    );
    const bad = await fetch(`${admin}/logging?level=loud`, { method: 'POST' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/level must be one of error, warn, info, http, debug/);
  });
});

describe('operating a running control plane', () => {
  let cp: Spawned;
  let api: string;
  let logDir: string;
  let otlp: Awaited<ReturnType<typeof collector>>;
  beforeAll(async () => {
    logDir = mkdtempSync(join(tmpdir(), 'nerve-logs-'));
    otlp = await collector();
    cp = spawnNerve(['control-plane', '--api-port', '0', '--xds-port', '0', '--host', '127.0.0.1'], {
      LOG_LEVEL: 'info',
      LOG_DIR: logDir,
      NERVE_FEATURES: 'dashboard=off',
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
    });
    await cp.waitForOutput(/ready/);
    api = cp.stdout().match(/REST on (http:\/\/\S+\/api\/v1\/nerve)/)![1];
  });
  afterAll(async () => {
    cp.child.kill('SIGTERM');
    await cp.exited();
    otlp.close();
  });

  it('writes JSON lines with their component to a daily file under LOG_DIR', async () => {
    const file = await waitFor(
      () => readdirSync(logDir).find((f) => /^nerve-control-plane-\d{4}-\d{2}-\d{2}\.log$/.test(f)),
      'a log file',
    );
    const first = await waitFor(
      () => readFileSync(join(logDir, file), 'utf8').split('\n')[0] || undefined,
      'a line',
    );
    expect(JSON.parse(first)).toMatchObject({ component: 'control-plane', level: expect.any(String) });
  });

  it('logs a REST request of a sampled trace at info with its ids, and exports its span', async () => {
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    await fetch(`${api}/engines`, {
      headers: { traceparent: `00-${traceId}-b7ad6b7169203331-01`, 'x-request-id': 'traced-req-1' },
    });
    const line = await waitFor(
      () => lines(cp).find((l) => l.message === 'request' && l.traceId === traceId),
      'the request line',
    );
    expect(line).toMatchObject({
      level: 'info',
      requestId: 'traced-req-1',
      status: 200,
      parentSpanId: 'b7ad6b7169203331',
    });
    const body = (await waitFor(() => otlp.bodies[0], 'an OTLP export')) as {
      resourceSpans: { scopeSpans: { spans: Record<string, unknown>[] }[] }[];
    };
    expect(body.resourceSpans[0].scopeSpans[0].spans[0]).toMatchObject({
      traceId,
      parentSpanId: 'b7ad6b7169203331',
      name: 'GET /api/v1/nerve/engines',
      kind: 2,
    });
  });

  it('changes log levels at run time, and refuses a bad level or component with a precise message', async () => {
    const get = await (await fetch(`${api}/log-level`)).json();
    expect(get).toEqual({ levels: expect.objectContaining({ 'control-plane': 'info' }) });
    const put = await fetch(`${api}/log-level`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ level: 'http', component: 'control-plane' }),
    });
    expect(put.status).toBe(200);
    expect(await put.json()).toEqual({ levels: expect.objectContaining({ 'control-plane': 'http' }) });
    // At http, every REST request is a line with its request id.
    await fetch(`${api}/engines`, { headers: { 'x-request-id': 'find-me-42' } });
    await waitFor(
      () => lines(cp).find((l) => l.requestId === 'find-me-42' && l.message === 'request'),
      'the access line',
    );

    const bad = await fetch(`${api}/log-level`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ level: 'loud' }),
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toMatch(/level/);
    const unknown = await fetch(`${api}/log-level`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ level: 'debug', component: 'nope' }),
    });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toMatch(
      /no logger "nope"; known: .*control-plane/,
    );
  });

  it('takes a CPU profile that is a valid .cpuprofile', async () => {
    const res = await fetch(`${api}/debug/cpu-profile?durationMs=300`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toMatch(/\.cpuprofile"$/);
    const profile = (await res.json()) as {
      nodes: { id: number; callFrame: { functionName: string; url: string }; children?: number[] }[];
      startTime: number;
      endTime: number;
      samples: number[];
      timeDeltas: number[];
    };
    expect(profile.endTime - profile.startTime).toBeGreaterThanOrEqual(300_000); // microseconds
    const ids = new Set(profile.nodes.map((n) => n.id));
    expect(profile.nodes[0].callFrame.functionName).toBe('(root)');
    for (const n of profile.nodes) for (const c of n.children ?? []) expect(ids.has(c)).toBe(true);
    expect(profile.samples.length).toBe(profile.timeDeltas.length);
    for (const s of profile.samples) expect(ids.has(s)).toBe(true);

    const tooLong = await fetch(`${api}/debug/cpu-profile?durationMs=999999`, { method: 'POST' });
    expect(tooLong.status).toBe(400);
    expect(((await tooLong.json()) as { error: { message: string } }).error.message).toMatch(/100 to 60000/);
  });

  it('takes a heap snapshot, streamed, only when confirmed', async () => {
    const unconfirmed = await fetch(`${api}/debug/heap-snapshot`, { method: 'POST' });
    expect(unconfirmed.status).toBe(400);
    expect(((await unconfirmed.json()) as { error: { message: string } }).error.message).toMatch(
      /confirm=true/,
    );
    const res = await fetch(`${api}/debug/heap-snapshot?confirm=true`, { method: 'POST' });
    expect(res.status).toBe(200);
    const snapshot = (await res.json()) as {
      snapshot: { meta: { node_fields: string[] }; node_count: number };
    };
    expect(snapshot.snapshot.meta.node_fields).toContain('name');
    expect(snapshot.snapshot.node_count).toBeGreaterThan(1000);
  });

  it('offers the same on admin gRPC: log levels, a CPU profile, feature flags', async () => {
    const grpcAddress = cp.stdout().match(/xDS\/admin gRPC on (\S+),/)![1];
    const admin = new AdminClient(grpcAddress, grpc.credentials.createInsecure());
    try {
      const set = await unary<SetLogLevelRequest, SetLogLevelResponse>(admin.setLogLevel.bind(admin), {
        level: 'warn',
        component: '',
      });
      expect(set.levels['control-plane']).toBe('warn');
      await expect(
        unary(admin.setLogLevel.bind(admin), { level: 'chatty', component: '' }),
      ).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
      const profile = await unary<CaptureCpuProfileRequest, CaptureCpuProfileResponse>(
        admin.captureCpuProfile.bind(admin),
        { durationMs: 200 },
      );
      expect(JSON.parse(profile.profile.toString()).nodes.length).toBeGreaterThan(1);
      const features = await unary<GetFeaturesRequest, GetFeaturesResponse>(
        admin.getFeatures.bind(admin),
        {},
      );
      expect(features.features).toMatchObject({ dashboard: false, autoscaling: true });
    } finally {
      admin.close();
    }
  });

  it('honours its feature flags: the dashboard is off, and /features says so', async () => {
    expect(await (await fetch(`${api}/features`)).json()).toEqual({
      features: expect.objectContaining({ dashboard: false, liveFeed: true }),
    });
    expect((await fetch(api.replace('/api/v1/nerve', '/'))).status).toBe(404);
  });
});

describe('settings are validated at start', () => {
  it('lists every bad setting at once and exits 2', async () => {
    const cp = spawnNerve(['control-plane'], {
      API_PORT: 'eighty',
      REDIS_URL: 'localhost:6379',
      NERVE_FEATURES: 'dashbord=off',
      TLS_CERT_FILE: '/nonexistent/cert.pem',
      LOG_LEVEL: 'loud',
    });
    running.push(cp);
    expect((await cp.exited()).code).toBe(2);
    const err = cp.stderr();
    expect(err).toMatch(/\d bad settings/);
    expect(err).toMatch(/API_PORT must be a port/);
    expect(err).toMatch(/REDIS_URL \(--redis-url, redisUrl\) must look like/);
    expect(err).toMatch(/NERVE_FEATURES: no feature "dashbord" \(known: dashboard/);
    expect(err).toMatch(/TLS_CERT_FILE and TLS_KEY_FILE go together/);
    expect(err).toMatch(/LOG_LEVEL \(--log-level\) must be/);
  });
});
