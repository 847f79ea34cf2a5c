import Ajv2020 from 'ajv/dist/2020';
import { startApi } from '../../src/api/server';
import type { RouteSpec } from '../../src/api/http/route-table';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { DemoEngine } from '../../src/engines/engine-server';
import { waitFor } from '../helpers/wait';
import { logger, engineSpec, startControlPlane } from '../helpers/cluster';

type Json = Record<string, unknown>;
interface Operation {
  responses: Record<string, { content?: Record<string, { schema: Json }> }>;
  parameters: { name: string; in: string }[];
  'x-nerve-role': string;
}
interface Document {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Json> };
}

/** Inlines `#/components/schemas/X` references, so each answer schema compiles on its own. */
function inline(schema: unknown, doc: Document): unknown {
  if (Array.isArray(schema)) return schema.map((s) => inline(s, doc));
  if (schema === null || typeof schema !== 'object') return schema;
  const ref = (schema as { $ref?: string }).$ref;
  if (ref?.startsWith('#/components/schemas/')) return doc.components.schemas[ref.split('/').pop()!];
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, inline(v, doc)]));
}

describe('the OpenAPI 3.1 document: every route in it, every answer valid against it', () => {
  let engine: DemoEngine;
  let cp: ControlPlane;
  let api: Awaited<ReturnType<typeof startApi>>;
  let base: string;
  let doc: Document;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  const failures: string[] = [];
  let checked = 0;

  /** Calls the API and checks the answer against the document's schema for that route and status. */
  async function call(
    route: RouteSpec,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; json: unknown }> {
    const res = await fetch(`${base}${path}`, {
      method: route.method.toUpperCase(),
      headers: { 'content-type': 'application/json' },
      body:
        body === undefined
          ? route.method === 'get' || route.method === 'delete'
            ? undefined
            : '{}'
          : JSON.stringify(body),
    });
    const p = route.path.replace(/:(\w+)/g, '{$1}');
    const op = doc.paths[p]?.[route.method];
    const answer = op?.responses[String(res.status)];
    const type = res.headers.get('content-type') ?? '';
    const json: unknown = type.includes('json') ? await res.json() : await res.text();
    const where = `${route.method.toUpperCase()} ${path} → ${res.status}`;
    if (!answer) failures.push(`${where}: status not in the document`);
    else if (res.status !== 204 && type.includes('json')) {
      const schema = answer.content?.['application/json']?.schema;
      if (!schema)
        failures.push(`${where}: JSON answer, but the document says ${Object.keys(answer.content ?? {})}`);
      else if (!ajv.validate(inline(schema, doc) as Json, json))
        failures.push(`${where}: ${ajv.errorsText(ajv.errors)}: ${JSON.stringify(json).slice(0, 300)}`);
      else checked++;
    }
    return { status: res.status, json };
  }

  const route = (method: string, path: string) => {
    const r = api.routes.find((x) => x.method === method && x.path === path);
    if (!r) throw new Error(`no route ${method} ${path}`);
    return r;
  };

  beforeAll(async () => {
    engine = await new DemoEngine({
      type: 'echo',
      name: 'calc',
      id: 'calc-1',
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    cp = await startControlPlane([
      engineSpec({
        name: 'calc',
        versions: [{ name: 'v1', weight: 100 }],
        instances: [{ id: 'calc-1', address: engine.address }],
        policy: {
          healthCheck: { intervalMs: 200, timeoutMs: 2_000, healthyThreshold: 1, unhealthyThreshold: 1 },
        },
      }),
    ]);
    api = await startApi(cp, logger, '127.0.0.1', 0);
    base = `http://127.0.0.1:${api.port}/api/v1/nerve`;
    doc = (await (await fetch(`${base}/openapi.json`)).json()) as Document;
  });

  afterAll(async () => {
    await api.close();
    await cp.stop(500);
    await engine.stop();
  });

  it('lists every REST route with its role, and its schemas compile', () => {
    expect(doc.openapi).toBe('3.1.0');
    const missing = api.routes.filter((r) => !doc.paths[r.path.replace(/:(\w+)/g, '{$1}')]?.[r.method]);
    expect(missing.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    for (const r of api.routes) {
      const op = doc.paths[r.path.replace(/:(\w+)/g, '{$1}')][r.method];
      expect(op['x-nerve-role']).toBe(r.access);
      for (const a of Object.values(op.responses))
        for (const c of Object.values(a.content ?? {}))
          expect(() => ajv.compile(inline(c.schema, doc) as Json)).not.toThrow();
    }
  });

  // Before the routes below change calc.
  it('answers a health check with nothing to serve 503 and the health body, as the document says', async () => {
    engine.setServing(false);
    try {
      await waitFor(async () => (await fetch(`${base}/health`)).status === 503, 'an unhealthy system');
      failures.length = 0;
      expect((await call(route('get', '/health'), '/health')).status).toBe(503);
      expect((await call(route('get', '/health/:engineId'), '/health/calc')).status).toBe(503);
      expect(failures).toEqual([]);
    } finally {
      // Back to serving; the checks below take either status (an unhealthy instance is probed with backoff).
      engine.setServing(true);
    }
  });

  it('answers, on the happy path, as the document says', async () => {
    const engineDoc = {
      name: 'ledger',
      versions: [{ name: 'v1', weight: 100 }],
      instances: [{ id: 'l-1', address: '127.0.0.1:1' }],
    };
    expect((await call(route('post', '/engines'), '/engines', engineDoc)).status).toBe(201);
    expect((await call(route('get', '/engines'), '/engines?limit=1')).status).toBe(200);
    expect((await call(route('get', '/engines/:name'), '/engines/ledger')).status).toBe(200);
    expect((await call(route('put', '/engines/:name'), '/engines/ledger', engineDoc)).status).toBe(200);
    expect(
      (
        await call(route('patch', '/engines/:name'), '/engines/ledger', {
          versions: [{ name: 'v1', weight: 50 }],
        })
      ).status,
    ).toBe(200);
    expect(
      (await call(route('post', '/engines/:name/instances/:id/drain'), '/engines/ledger/instances/l-1/drain'))
        .status,
    ).toBe(200);
    expect(
      (
        await call(
          route('post', '/engines/:name/instances/:id/undrain'),
          '/engines/ledger/instances/l-1/undrain',
        )
      ).status,
    ).toBe(200);
    expect(
      (
        await call(route('post', '/batch'), '/batch', {
          operations: [{ op: 'patch', engine: 'ledger', spec: { policy: { strategy: 'random' } } }],
        })
      ).status,
    ).toBe(200);
    expect((await call(route('get', '/config/history'), '/config/history')).status).toBe(200);
    expect((await call(route('post', '/api-keys'), '/api-keys', { name: 'ci', role: 'viewer' })).status).toBe(
      201,
    );
    expect((await call(route('get', '/api-keys'), '/api-keys')).status).toBe(200);
    // Versions, instances and the policy as resources of their own.
    const v = await call(route('post', '/engines/:name/versions'), '/engines/ledger/versions', {
      name: 'v2',
      weight: 0,
    });
    expect(v.status).toBe(201);
    expect((v.json as { engine: { versions: unknown } }).engine.versions).toEqual([
      { name: 'v1', weight: 50 },
      { name: 'v2', weight: 0 },
    ]);
    expect(
      (
        await call(route('put', '/engines/:name/versions/:version'), '/engines/ledger/versions/v2', {
          weight: 50,
        })
      ).status,
    ).toBe(200);
    expect((await call(route('get', '/engines/:name/versions'), '/engines/ledger/versions')).json).toEqual({
      versions: [
        { name: 'v1', weight: 50 },
        { name: 'v2', weight: 50 },
      ],
    });
    const added = await call(route('post', '/engines/:name/instances'), '/engines/ledger/instances', {
      id: 'l-2',
      address: '127.0.0.1:2',
      version: 'v2',
    });
    expect(added.status).toBe(201);
    expect(
      (await call(route('get', '/engines/:name/instances/:id'), '/engines/ledger/instances/l-2')).status,
    ).toBe(200);
    expect(
      (
        await call(route('patch', '/engines/:name/instances/:id'), '/engines/ledger/instances/l-2', {
          weight: 7,
        })
      ).status,
    ).toBe(200);
    expect((await call(route('get', '/engines/:name/instances'), '/engines/ledger/instances')).status).toBe(
      200,
    );
    expect(
      (await call(route('delete', '/engines/:name/instances/:id'), '/engines/ledger/instances/l-2')).status,
    ).toBe(200);
    expect(
      (await call(route('delete', '/engines/:name/versions/:version'), '/engines/ledger/versions/v2')).status,
    ).toBe(200);
    expect(
      (await call(route('delete', '/engines/:name/versions/:version'), '/engines/ledger/versions/v9')).status,
    ).toBe(404);
    expect(
      (
        await call(route('put', '/engines/:name/policy'), '/engines/ledger/policy', {
          strategy: 'least_request',
        })
      ).status,
    ).toBe(200);
    const policy = await call(route('get', '/engines/:name/policy'), '/engines/ledger/policy');
    expect((policy.json as { policy: { strategy: string } }).policy.strategy).toBe('least_request');
    expect(
      (await call(route('put', '/engines/:name/policy'), '/engines/ledger/policy', { strategy: 'bogus' }))
        .status,
    ).toBe(400);
    expect((await call(route('delete', '/engines/:name/policy'), '/engines/ledger/policy')).status).toBe(200);
    expect((await call(route('delete', '/engines/:name'), '/engines/ledger')).status).toBe(200);
    expect([200, 503]).toContain((await call(route('get', '/health'), '/health')).status);
    expect(failures).toEqual([]);
  });

  it('answers every route, errors included, as the document says', async () => {
    for (const r of api.routes) {
      if (r.produces === 'text/event-stream') continue;
      const path = r.path.replace(/:(\w+)/g, (_m, p: string) =>
        p === 'version'
          ? '1'
          : p === 'id' && r.path.startsWith('/engines')
            ? 'calc-1'
            : p === 'name' || p === 'engine' || p === 'engineId'
              ? 'calc'
              : 'nope',
      );
      await call(r, r.path === '/debug/cpu-profile' ? `${path}?durationMs=100` : path);
    }
    expect(failures).toEqual([]);
    expect(checked).toBeGreaterThan(60);
  });

  it('serves a docs page that renders the document offline', async () => {
    const res = await fetch(`${base}/docs`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("fetch('openapi.json')");
    expect(html).not.toMatch(/<script[^>]+src=|https?:\/\/(?!www\.w3)/);
  });
});
