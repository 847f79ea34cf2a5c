import { internals } from '../helpers/internals';
import { scopedKey, withIdempotencyKey } from '../../src/store/idempotency';
import { ReportServiceClient } from '../../gen/nerve/report/v1/report_service';
import { WebSocket } from 'ws';
import * as grpc from '@grpc/grpc-js';
import * as net from 'node:net';
import { AdminClient } from '../../gen/nerve/admin/v1/admin';
import { startApi } from '../../src/api/server';
import type { RouteSpec } from '../../src/api/http/route-table';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { ENGINE_KIND } from '../../src/model/engine-document';
import { logger, engineSpec, startControlPlane } from '../helpers/cluster';

type ErrorBody = { error: { code: string; message: string; details: string[]; requestId: string } };

/** Sends raw HTTP/1.1 bytes and resolves with the whole answer (header injection needs bytes fetch refuses). */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(request));
    let out = '';
    socket.on('data', (d) => (out += d.toString()));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
}

describe('bad input over every route: 4xx with a clear message, nothing lost, the process serving', () => {
  let cp: ControlPlane;
  let api: Awaited<ReturnType<typeof startApi>>;
  let base: string;

  beforeAll(async () => {
    cp = await startControlPlane(
      [engineSpec({ name: 'calc', versions: [{ name: 'v1', weight: 100 }], instances: [] })],
      { callLimits: { perAddressPerMinute: 0, perPrincipalPerMinute: 0 } },
    );
    api = await startApi(cp, logger, '127.0.0.1', 0, undefined, { corsOrigins: ['https://ops.example'] });
    base = `http://127.0.0.1:${api.port}/api/v1/nerve`;
  });

  afterAll(async () => {
    await api.close();
    await cp.stop(500);
  });

  const path = (r: RouteSpec, value: string) => r.path.replace(/:(\w+)/g, () => encodeURIComponent(value));
  const writes = () => api.routes.filter((r) => r.method !== 'get' && r.method !== 'delete');

  it('answers malformed JSON on every write route with 400 naming the problem', async () => {
    const failures: string[] = [];
    for (const r of writes()) {
      const res = await fetch(`${base}${path(r, 'calc')}`, {
        method: r.method.toUpperCase(),
        headers: { 'content-type': 'application/json' },
        body: '{"name": "x", ',
      });
      const body = (await res.json()) as ErrorBody;
      if (res.status !== 400 || !/JSON/i.test(body.error.message))
        failures.push(`${r.method} ${r.path}: ${res.status} ${body.error.message}`);
    }
    expect(failures).toEqual([]);
  });

  it('refuses bodies over the limit with 413 before parsing them, on every write route', async () => {
    const big = JSON.stringify({ name: 'x', pad: 'x'.repeat(2 * 1024 * 1024) });
    const failures: string[] = [];
    for (const r of writes()) {
      const bulk = /\/(config\/import|batch)$/.test(r.path);
      const res = await fetch(`${base}${path(r, 'calc')}`, {
        method: r.method.toUpperCase(),
        headers: { 'content-type': 'application/json' },
        body: bulk ? JSON.stringify({ pad: 'x'.repeat(33 * 1024 * 1024) }) : big,
      });
      const body = (await res.json()) as ErrorBody;
      if (res.status !== 413 || !/too large/i.test(body.error.message))
        failures.push(`${r.method} ${r.path}: ${res.status} ${body.error.message}`);
    }
    expect(failures).toEqual([]);
  });

  it('answers traversal and odd path values on every route without a 5xx, echoing them bounded', async () => {
    const failures: string[] = [];
    for (const value of ['../../etc/passwd', '%00', 'x'.repeat(5000), '<script>alert(1)</script>']) {
      for (const r of api.routes) {
        if (!r.path.includes(':') || r.produces === 'text/event-stream') continue;
        const res = await fetch(`${base}${path(r, value)}`, {
          method: r.method.toUpperCase(),
          headers: { 'content-type': 'application/json' },
          body: r.method === 'get' || r.method === 'delete' ? undefined : '{}',
        });
        const text = await res.text();
        if (res.status >= 500 || res.status < 400 || text.length > 2000)
          failures.push(
            `${r.method} ${r.path} with ${value.slice(0, 20)}: ${res.status} ${text.slice(0, 100)}`,
          );
      }
    }
    expect(failures).toEqual([]);
  });

  it('names unknown fields and wrong types', async () => {
    const post = (doc: unknown) =>
      fetch(`${base}/engines`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(doc),
      });
    const unknown = (await (
      await post({ name: 'e1', versions: [{ name: 'v1', weight: 100 }], instances: [], colour: 'red' })
    ).json()) as ErrorBody;
    expect(unknown.error.details.join('\n')).toMatch(/colour/);
    const typed = await post({ name: 5, versions: 'v1' });
    expect(typed.status).toBe(400);
    expect(((await typed.json()) as ErrorBody).error.details.join('\n')).toMatch(/name/);
    const scale = await fetch(`${base}/engines/calc/scale`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ replicas: 'many' }),
    });
    expect(((await scale.json()) as ErrorBody).error.message).toMatch(
      /invalid scale request: replicas: .*expected number/,
    );
  });

  it('does not let a header injection through, and keeps serving', async () => {
    const answer = await raw(
      api.port,
      'GET /api/v1/nerve/engines HTTP/1.1\r\nhost: x\r\nx-request-id: a\rinjected: yes\r\nconnection: close\r\n\r\n',
    );
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(answer).not.toMatch(/^injected:/m);
    const odd = await fetch(`${base}/engines`, { headers: { 'x-request-id': 'has spaces and {braces}' } });
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/); // replaced, not echoed
    const live = await fetch(`${base}/health/live`);
    expect(live.status).toBe(200);
    expect(internals(cp).store.get(ENGINE_KIND, 'calc')).toBeDefined(); // nothing lost
  });

  it('gives CORS headers to a listed origin only, and refuses the preflight of another', async () => {
    const pre = (origin: string) =>
      fetch(`${base}/engines`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST' },
      });
    const ok = await pre('https://ops.example');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://ops.example');
    expect(ok.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const evil = await pre('https://evil.example');
    expect(evil.status).toBe(403);
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await fetch(`${base}/engines`, { headers: { origin: 'https://evil.example' } });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('sanitises internal errors: no stack, a request id to find it in the log', async () => {
    const original = cp.admin.views.listEngines.bind(cp.admin);
    cp.admin.views.listEngines = () => Promise.reject(new Error('secret detail at /srv/internal.ts:12'));
    try {
      const res = await fetch(`${base}/engines`);
      const body = (await res.json()) as ErrorBody;
      expect(res.status).toBe(500);
      expect(JSON.stringify(body)).not.toMatch(/secret detail|internal\.ts/);
      expect(body.error.requestId).toBe(res.headers.get('x-request-id'));
    } finally {
      cp.admin.views.listEngines = original;
    }
  });
});

describe('rate limits', () => {
  it('answers 429 with Retry-After past the per-address budget, REST and gRPC alike', async () => {
    const cp = await startControlPlane([], {
      callLimits: { perAddressPerMinute: 5, perPrincipalPerMinute: 0 },
    });
    const api = await startApi(cp, logger, '127.0.0.1', 0);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++)
        statuses.push((await fetch(`http://127.0.0.1:${api.port}/api/v1/nerve/engines`)).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const res = await fetch(`http://127.0.0.1:${api.port}/api/v1/nerve/engines`);
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(((await res.json()) as ErrorBody).error.code).toBe('RESOURCE_EXHAUSTED');
      // gRPC calls from the same address draw on the same budget.
      const client = new AdminClient(`127.0.0.1:${cp.port}`, grpc.credentials.createInsecure());
      const code = await new Promise<grpc.status | undefined>((resolve) =>
        client.listEngines({ pageSize: 0, pageToken: '' }, (err) => resolve(err?.code)),
      );
      client.close();
      expect(code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      // Health probes are never limited.
      expect((await fetch(`http://127.0.0.1:${api.port}/api/v1/nerve/health/live`)).status).toBe(200);
    } finally {
      await api.close();
      await cp.stop(500);
    }
  });

  it('counts anonymous and failed calls against the address, an authenticated admin against its own budget', async () => {
    const KEY = 'admin-key-of-the-hardening-suite-000';
    const cp = await startControlPlane([], {
      auth: { enabled: true, apiKeys: [{ name: 'ops', role: 'admin', secret: KEY }] },
      callLimits: { perAddressPerMinute: 3, perPrincipalPerMinute: 100 },
    });
    const api = await startApi(cp, logger, '127.0.0.1', 0);
    const url = `http://127.0.0.1:${api.port}/api/v1/nerve/engines`;
    try {
      const anonymous: number[] = [];
      for (let i = 0; i < 5; i++) anonymous.push((await fetch(url)).status);
      expect(anonymous).toEqual([401, 401, 401, 429, 429]);
      for (let i = 0; i < 5; i++)
        expect((await fetch(url, { headers: { 'x-api-key': KEY } })).status).toBe(200);
    } finally {
      await api.close();
      await cp.stop(500);
    }
  });
});

describe('stream opens and feed upgrades are rate-limited too', () => {
  it('throttles refused report streams and WebSocket upgrades from one address', async () => {
    const cp = await startControlPlane([], {
      auth: {
        enabled: true,
        apiKeys: [{ name: 'ops', role: 'admin', secret: 'admin-key-of-the-hardening-suite-000' }],
      },
      callLimits: { perAddressPerMinute: 3, perPrincipalPerMinute: 100 },
    });
    const api = await startApi(cp, logger, '127.0.0.1', 0);
    const client = new ReportServiceClient(`127.0.0.1:${cp.port}`, grpc.credentials.createInsecure());
    try {
      const codes: grpc.status[] = [];
      for (let i = 0; i < 4; i++) {
        const md = new grpc.Metadata();
        md.set('x-api-key', 'nrv_never-issued');
        const stream = client.streamReports(md);
        codes.push(
          await new Promise<grpc.status>((resolve) => {
            stream.on('status', (st: grpc.StatusObject) => resolve(st.code));
            stream.on('error', () => undefined);
            stream.write({
              nodeId: 'x',
              loads: [],
              engineCalls: [],
              heldCalls: {},
              engineCircuits: {},
              intervalMs: 1,
              tracedCalls: [],
              tracedDropped: 0,
            });
          }),
        );
      }
      expect(codes).toEqual([
        grpc.status.UNAUTHENTICATED,
        grpc.status.UNAUTHENTICATED,
        grpc.status.UNAUTHENTICATED,
        grpc.status.RESOURCE_EXHAUSTED,
      ]);
      const upgrade = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`ws://127.0.0.1:${api.port}/api/v1/nerve/ws`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => undefined);
      });
      expect(upgrade).toBe(429);
    } finally {
      client.close();
      await api.close();
      await cp.stop(500);
    }
  });
});

describe('headers and nesting', () => {
  it('answers a merge patch nested 10,000 deep with 400 and keeps serving; every answer carries the security headers', async () => {
    const cp = await startControlPlane([
      engineSpec({ name: 'calc', versions: [{ name: 'v1', weight: 100 }], instances: [] }),
    ]);
    const api = await startApi(cp, logger, '127.0.0.1', 0);
    const base = `http://127.0.0.1:${api.port}/api/v1/nerve`;
    try {
      const deep = '{"policy":'.repeat(1) + '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_001);
      const res = await fetch(`${base}/engines/calc`, {
        method: 'PATCH',
        headers: { 'content-type': 'application/merge-patch+json' },
        body: deep,
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorBody).error.message).toMatch(/nest/);
      for (const path of ['/engines', '/docs', '/openapi.json', '/health']) {
        const r = await fetch(`${base}${path}`);
        await r.arrayBuffer();
        expect(r.headers.get('x-content-type-options')).toBe('nosniff');
        expect(r.headers.get('x-frame-options')).toBe('DENY');
        expect(r.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
      }
      expect((await fetch(`${base}/engines/calc`)).status).toBe(200);
    } finally {
      await api.close();
      await cp.stop(500);
    }
  });
});

describe('Idempotency-Key', () => {
  it('runs a write once: a retry gets the first answer, or the version a lost answer committed', async () => {
    const cp = await startControlPlane([]);
    const api = await startApi(cp, logger, '127.0.0.1', 0);
    const base = `http://127.0.0.1:${api.port}/api/v1/nerve`;
    const post = (name: string, key: string) =>
      fetch(`${base}/engines`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body: JSON.stringify({ name, versions: [{ name: 'v1', weight: 100 }], instances: [] }),
      });
    try {
      const first = await post('once', 'k-1');
      expect(first.status).toBe(201);
      const firstBody = await first.json();
      const version = internals(cp).store.version();
      const again = await post('once', 'k-1');
      expect(again.status).toBe(201);
      expect(again.headers.get('idempotency-replayed')).toBe('true');
      expect(await again.json()).toEqual(firstBody);
      expect(internals(cp).store.version()).toBe(version);
      // Without the key, the same request is a new one: the engine exists.
      expect((await post('once', 'k-2')).status).toBe(409);
      // A first attempt committed but its answer was lost: the retry is told the version, nothing runs again.
      await withIdempotencyKey(scopedKey('anonymous', 'k-lost'), () =>
        cp.admin.specs.create(
          { name: 'lost', versions: [{ name: 'v1', weight: 100 }], instances: [] },
          { actor: 'anonymous', via: 'rest', requestId: 'r' },
        ),
      );
      const lost = await post('lost', 'k-lost');
      expect(lost.status).toBe(200);
      expect(await lost.json()).toMatchObject({ replayed: true, version: internals(cp).store.version() });
      const bad = await fetch(`${base}/engines`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'x'.repeat(300) },
        body: '{}',
      });
      expect(bad.status).toBe(400);
    } finally {
      await api.close();
      await cp.stop(500);
    }
  });
});

describe('bodies are read only for callers the route admits', () => {
  it('refuses an anonymous 2 MiB body and an anonymous 20 MiB import with 401, unparsed', async () => {
    const cp = await startControlPlane([], {
      auth: {
        enabled: true,
        apiKeys: [{ name: 'ops', role: 'admin', secret: 'admin-key-of-the-hardening-suite-000' }],
      },
    });
    const api = await startApi(cp, logger, '127.0.0.1', 0);
    const base = `http://127.0.0.1:${api.port}/api/v1/nerve`;
    try {
      const big = (mib: number) => `{"pad":"${'x'.repeat(mib * 1024 * 1024)}"}`;
      const post = (path: string, body: string, headers: Record<string, string> = {}) =>
        fetch(`${base}${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body,
        });
      expect((await post('/engines', big(2))).status).toBe(401);
      expect((await post('/config/import', big(20))).status).toBe(401);
      // Admitted, the same body meets the size limit (413), so the order is guard, then parse.
      const admitted = await post('/engines', big(2), {
        'x-api-key': 'admin-key-of-the-hardening-suite-000',
      });
      expect(admitted.status).toBe(413);
    } finally {
      await api.close();
      await cp.stop(500);
    }
  });
});
