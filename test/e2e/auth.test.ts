import { internals } from '../helpers/internals';
import * as protoLoader from '@grpc/proto-loader';
import { dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import {
  AdminClient,
  AdminService as AdminDefinition,
  type CreateApiKeyRequest,
  type CreateApiKeyResponse,
  type ListApiKeysRequest,
  type ListApiKeysResponse,
} from '../../gen/nerve/admin/v1/admin';
import { startApi } from '../../src/api/server';
import type { RouteSpec } from '../../src/api/http/route-table';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { GRPC_ROLES } from '../../src/control-plane/admin/grpc-roles';
import { LOADER_OPTIONS } from '../../src/protocol/ads';
import { DemoEngine } from '../../src/engines/engine-server';
import { registerEngine } from '../../src/engines/registration';
import { ROLES, type Role } from '../../src/model/security/roles';
import { logger, engineSpec, startControlPlane, startRouter } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

const SECRET = 'an HS256 secret of the test suite, 32+ bytes long';
const ISSUER = 'https://issuer.test';
const AUDIENCE = 'nerve';
const BOOT_KEY = 'boot-secret-of-at-least-24-characters';

/** A token signed with `secret`, for `sub` holding `role`, valid for `ttlS` seconds from `now` unless changed. */
function token(
  role: Role | undefined,
  opts: { sub?: string; secret?: string; iss?: string; aud?: string; expS?: number; nbfS?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT(role ? { roles: [role] } : {})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(opts.sub ?? `${role ?? 'nobody'}-user`)
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.expS ?? 300));
  if (opts.nbfS !== undefined) jwt.setNotBefore(now + opts.nbfS);
  return jwt.sign(new TextEncoder().encode(opts.secret ?? SECRET));
}

/** The role just below `role` (undefined below viewer). */
const below = (role: Role): Role | undefined =>
  role === 'dataplane' ? undefined : ROLES[ROLES.indexOf(role) - 1];

/** A concrete path for a route's pattern. */
const concrete = (path: string) =>
  path.replace(/:(\w+)/g, (_m, p: string) => (p === 'version' ? '1' : 'nope')) +
  (path === '/debug/cpu-profile' ? '?durationMs=100' : '');

describe('authentication and roles on every surface', () => {
  let cp: ControlPlane;
  let api: Awaited<ReturnType<typeof startApi>>;
  let base: string;
  const tokens: Partial<Record<Role, string>> = {};

  beforeAll(async () => {
    cp = await startControlPlane(
      [engineSpec({ name: 'calc', versions: [{ name: 'v1', weight: 100 }], instances: [] })],
      {
        auth: {
          enabled: true,
          jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE },
          apiKeys: [{ name: 'boot', role: 'admin', secret: BOOT_KEY }],
        },
      },
    );
    api = await startApi(cp, logger, '127.0.0.1', 0);
    base = `http://127.0.0.1:${api.port}/api/v1/nerve`;
    for (const r of ROLES) tokens[r] = await token(r);
  });

  afterAll(async () => {
    await api.close();
    await cp.stop(500);
  });

  const call = (method: string, path: string, headers: Record<string, string> = {}) =>
    fetch(`${base}${path}`, {
      method: method.toUpperCase(),
      headers: { 'content-type': 'application/json', ...headers },
      body: method === 'get' || method === 'delete' ? undefined : '{}',
    });
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

  /** Status of a call, without reading an event stream to its (never) end. */
  async function statusOf(route: RouteSpec, headers: Record<string, string>): Promise<number> {
    const res = await call(route.method, concrete(route.path), headers);
    if (route.produces === 'text/event-stream') await res.body?.cancel();
    else await res.arrayBuffer();
    return res.status;
  }

  it('declares a role for every REST route and leaves only health, the document and the docs open', () => {
    const open = api.routes.filter((r) => r.access === 'public').map((r) => r.path);
    expect(open.every((p) => /^\/(health|openapi\.json|docs)/.test(p))).toBe(true);
    expect(api.routes.length).toBeGreaterThan(60);
  });

  it('refuses each REST route without credentials, with bad tokens, revoked keys or too low a role; passes the right role', async () => {
    const expired = await token('admin', { expS: -120 });
    const notYet = await token('admin', { nbfS: 600 });
    const forged = await token('admin', { secret: 'another secret, also long enough to sign' });
    const wrongIssuer = await token('admin', { iss: 'https://elsewhere.test' });
    const wrongAudience = await token('admin', { aud: 'someone-else' });
    const roleless = await token(undefined);
    const created = await call('post', '/api-keys', { 'x-api-key': BOOT_KEY });
    expect(created.status).toBe(400); // {} has no name: the key route validates
    const made = (await (
      await fetch(`${base}/api-keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': BOOT_KEY },
        body: JSON.stringify({ name: 'short-lived', role: 'admin' }),
      })
    ).json()) as { key: string };
    const revoke = await call('delete', '/api-keys/short-lived', { 'x-api-key': BOOT_KEY });
    expect(revoke.status).toBe(204);

    const failures: string[] = [];
    for (const route of api.routes) {
      if (route.access === 'public') continue;
      const name = `${route.method.toUpperCase()} ${route.path}`;
      const cases: [string, Record<string, string>, number][] = [
        ['no credentials', {}, 401],
        ['expired token', bearer(expired), 401],
        ['token not valid yet', bearer(notYet), 401],
        ['wrong signature', bearer(forged), 401],
        ['wrong issuer', bearer(wrongIssuer), 401],
        ['wrong audience', bearer(wrongAudience), 401],
        ['revoked key', { 'x-api-key': made.key }, 401],
        ['unknown key', { 'x-api-key': 'nrv_never-issued' }, 401],
        ['malformed authorization', { authorization: 'Basic dXNlcjpwYXNz' }, 401],
        ['token without a role', bearer(roleless), 403],
      ];
      const lower = below(route.access);
      if (lower) cases.push([`role ${lower}`, bearer(tokens[lower]!), 403]);
      for (const [what, headers, want] of cases) {
        const got = await statusOf(route, headers);
        if (got !== want) failures.push(`${name}, ${what}: ${got}, expected ${want}`);
      }
      const right = await statusOf(route, bearer(tokens[route.access]!));
      if (right === 401 || right === 403) failures.push(`${name}, role ${route.access}: ${right}`);
    }
    expect(failures).toEqual([]);
  });

  it('says why in a 401 and asks for a bearer token', async () => {
    const res = await call('get', '/engines');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('UNAUTHENTICATED');
    expect(body.error.message).toMatch(/credentials required/);
    const expired = await call('get', '/engines', bearer(await token('admin', { expS: -120 })));
    expect(((await expired.json()) as { error: { message: string } }).error.message).toBe(
      'bearer token refused: expired',
    );
    const low = await call('post', '/engines/calc/scale', bearer(tokens.viewer!));
    expect(((await low.json()) as { error: { message: string } }).error.message).toBe(
      'POST /engines/:name/scale needs role operator; viewer-user holds viewer',
    );
  });

  it('refuses each admin gRPC method without credentials or with too low a role; passes the right role', async () => {
    const client = new AdminClient(`127.0.0.1:${cp.port}`, grpc.credentials.createInsecure());
    const codeOf = (method: string, md: grpc.Metadata, fields: Record<string, unknown> = {}) =>
      new Promise<grpc.status>((resolve) => {
        const def = (AdminDefinition as Record<string, { requestDeserialize(b: Buffer): unknown }>)[method];
        // The default message of the method's request type, with `fields` set.
        const request = { ...(def.requestDeserialize(Buffer.alloc(0)) as object), ...fields };
        type Call = (
          r: unknown,
          m: grpc.Metadata,
          o: grpc.CallOptions,
          cb: (err: grpc.ServiceError | null) => void,
        ) => void;
        const fn = (client as unknown as Record<string, Call>)[method].bind(client);
        fn(request, md, { deadline: Date.now() + 5_000 }, (err: grpc.ServiceError | null) =>
          resolve(err ? err.code : grpc.status.OK),
        );
      });
    const md = (t?: string) => {
      const m = new grpc.Metadata();
      if (t) m.set('authorization', `Bearer ${t}`);
      return m;
    };
    const failures: string[] = [];
    try {
      const methods = Object.keys(AdminDefinition);
      expect(methods.sort()).toEqual(Object.keys(GRPC_ROLES).sort());
      for (const method of methods) {
        const role = GRPC_ROLES[method as keyof typeof GRPC_ROLES];
        const none = await codeOf(method, md());
        if (none !== grpc.status.UNAUTHENTICATED) failures.push(`${method} without credentials: ${none}`);
        const lower = below(role);
        if (lower) {
          const low = await codeOf(
            method,
            md(tokens[lower]),
            /Entry$/.test(method) ? { kind: 'silences' } : {},
          );
          if (low !== grpc.status.PERMISSION_DENIED) failures.push(`${method} as ${lower}: ${low}`);
        }
        // Entries: silences are operators' to change (rules and channels admins', checked below).
        const kind = /Entry$/.test(method)
          ? { kind: 'silences' }
          : method === 'captureCpuProfile'
            ? { durationMs: 100 }
            : {};
        const right = await codeOf(method, md(tokens[role]), kind);
        if (right === grpc.status.UNAUTHENTICATED || right === grpc.status.PERMISSION_DENIED)
          failures.push(`${method} as ${role}: ${right}`);
      }
      for (const kind of ['alert-rules', 'notification-channels'])
        expect(await codeOf('putEntry', md(tokens.operator), { kind, name: 'x', json: '{}' })).toBe(
          grpc.status.PERMISSION_DENIED,
        );
    } finally {
      client.close();
    }
    expect(failures).toEqual([]);
  });

  it('refuses unauthenticated feed subscriptions (WebSocket and SSE) and accepts a viewer', async () => {
    const ws = `ws://127.0.0.1:${api.port}/api/v1/nerve/ws`;
    const outcome = (url: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const s = new WebSocket(url, { headers });
        s.on('open', () => {
          s.close();
          resolve(101);
        });
        s.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        s.on('error', () => resolve(-1));
      });
    expect(await outcome(ws)).toBe(401);
    expect(await outcome(`${ws}?access_token=${await token('admin', { expS: -120 })}`)).toBe(401);
    expect(await outcome(`${ws}?access_token=${tokens.viewer}`)).toBe(101);
    expect(await outcome(ws, { 'x-api-key': BOOT_KEY })).toBe(101);
    const sse = await fetch(`${base}/events?topics=alerts`);
    expect(sse.status).toBe(401);
    const ok = await fetch(`${base}/events?topics=alerts&access_token=${tokens.viewer}`);
    expect(ok.status).toBe(200);
    await ok.body?.cancel();
  });

  it('binds a data plane to its identity: a router subscribes as its own node, not as another, not without credentials', async () => {
    const key = (await (
      await fetch(`${base}/api-keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': BOOT_KEY },
        body: JSON.stringify({ name: 'router-a', role: 'dataplane' }),
      })
    ).json()) as { key: string; name: string; role: string };
    expect(key).toMatchObject({ name: 'router-a', role: 'dataplane' });
    expect(key.key).toMatch(/^nrv_/);
    const listed = (await (await call('get', '/api-keys', { 'x-api-key': BOOT_KEY })).json()) as {
      keys: Record<string, unknown>[];
    };
    expect(JSON.stringify(listed)).not.toContain(key.key);

    const router = (id: string, token?: string) => startRouter(cp, id, { credentials: { token } });
    const good = await router('router-a', key.key);
    const impostor = await router('router-b', key.key);
    const anonymous = await router('router-c');
    try {
      await waitFor(
        () =>
          internals(cp)
            .ads.clients()
            .find((c) => c.nodeId === 'router-a')
            ?.types.every((t) => t.inSync),
        'router-a in sync',
      );
      await waitFor(
        () =>
          impostor.ads.lastError?.includes('may not act as node') &&
          anonymous.ads.lastError?.includes('credentials required'),
        'the impostor and the anonymous router refused',
      );
      expect(
        internals(cp)
          .ads.clients()
          .map((c) => c.nodeId),
      ).toEqual(['router-a']);
    } finally {
      await Promise.all([good.stop(), impostor.stop(), anonymous.stop()]);
    }
  });

  /** Puts engine calc back as an admin (the every-route test imports an empty configuration). */
  const ensureCalc = async () => {
    const res = await fetch(`${base}/engines/calc`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...bearer(tokens.admin!) },
      body: JSON.stringify({ name: 'calc', versions: [{ name: 'v1', weight: 100 }], instances: [] }),
    });
    expect(res.status).toBeLessThan(300);
  };

  it('lets an engine register with an operator credential only', async () => {
    await ensureCalc();
    const engine = await new DemoEngine({
      type: 'echo',
      name: 'calc',
      id: 'calc-reg',
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    try {
      await expect(
        registerEngine(engine, `127.0.0.1:${cp.port}`, engine.address, { token: tokens.viewer }),
      ).rejects.toMatchObject({ code: grpc.status.PERMISSION_DENIED });
      const reg = await registerEngine(engine, `127.0.0.1:${cp.port}`, engine.address, {
        token: tokens.operator,
      });
      await reg.leave();
    } finally {
      await engine.stop();
    }
  });

  it('lets a registrant register only its own instances, within the limits an admin set', async () => {
    const opA = await token('operator', { sub: 'engine-a' });
    const opB = await token('operator', { sub: 'engine-b' });
    const register = async (t: string, body: Record<string, unknown>) => {
      const res = await fetch(`${base}/leases`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...bearer(t) },
        body: JSON.stringify({ engine: 'calc', address: '127.0.0.1:9', ...body }),
      });
      return {
        status: res.status,
        body: (await res.json()) as { error?: { message: string }; leaseId?: string },
      };
    };
    await ensureCalc();
    // An admin configures a static instance.
    const put = await fetch(`${base}/engines/calc/instances`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...bearer(tokens.admin!) },
      body: JSON.stringify({ id: 'static-1', address: '10.1.1.1:7001' }),
    });
    expect(put.status).toBe(201);

    expect((await register(opA, { id: 'a-1' })).status).toBe(201);
    const created = await register(opA, { engine: 'brand-new', id: 'x', createEngine: true });
    expect(created.status).toBe(403);
    expect(created.body.error?.message).toMatch(/creating engine brand-new by registration needs role admin/);
    const heavy = await register(opA, { id: 'a-2', weight: 1_000_000 });
    expect(heavy.status).toBe(400);
    expect(heavy.body.error?.message).toMatch(/registration.maxWeight 100/);
    const repoint = await register(opA, { id: 'static-1', address: '10.6.6.6:1' });
    expect(repoint.status).toBe(403);
    expect(repoint.body.error?.message).toMatch(/configured by an admin/);
    const hijack = await register(opB, { id: 'a-1', address: '10.6.6.6:1' });
    expect(hijack.status).toBe(403);
    expect(hijack.body.error?.message).toMatch(/registered by "engine-a"/);
    const engine = (await (await call('get', '/engines/calc/instances', bearer(tokens.viewer!))).json()) as {
      instances: { id: string; address: string }[];
    };
    expect(engine.instances.find((i) => i.id === 'static-1')?.address).toBe('10.1.1.1:7001');
    expect(engine.instances.find((i) => i.id === 'a-1')?.address).toBe('127.0.0.1:9');
  });

  it('creates, lists and revokes API keys over admin gRPC as over REST (one implementation)', async () => {
    const client = new AdminClient(`127.0.0.1:${cp.port}`, grpc.credentials.createInsecure());
    const md = new grpc.Metadata();
    md.set('x-api-key', BOOT_KEY);
    const unary = <Req, Res>(
      fn: (r: Req, m: grpc.Metadata, cb: (e: grpc.ServiceError | null, r: Res) => void) => unknown,
      r: Req,
    ) =>
      new Promise<Res>((resolve, reject) =>
        fn.call(client, r, md, (e, res) => (e ? reject(e) : resolve(res))),
      );
    try {
      const made = await unary<CreateApiKeyRequest, CreateApiKeyResponse>(client.createApiKey, {
        name: 'grpc-made',
        role: 'operator',
      });
      expect(made.key).toMatch(/^nrv_/);
      const rest = await call('get', '/engines', { 'x-api-key': made.key });
      expect(rest.status).toBe(200);
      const listed = await unary<ListApiKeysRequest, ListApiKeysResponse>(client.listApiKeys, {});
      expect(listed.keys.find((k) => k.name === 'grpc-made')).toMatchObject({
        role: 'operator',
        createdBy: 'boot',
      });
      expect(JSON.stringify(listed)).not.toContain(made.key);
      await expect(unary(client.createApiKey, { name: 'grpc-made', role: 'viewer' })).rejects.toMatchObject({
        code: grpc.status.ALREADY_EXISTS,
      });
      await expect(unary(client.createApiKey, { name: 'x', role: 'root' })).rejects.toMatchObject({
        code: grpc.status.INVALID_ARGUMENT,
      });
      await unary(client.revokeApiKey, { name: 'grpc-made' });
      expect((await call('get', '/engines', { 'x-api-key': made.key })).status).toBe(401);
    } finally {
      client.close();
    }
  });

  it('keeps a revoked key revoked across a rollback and an import of a version from before it', async () => {
    const admin = { 'x-api-key': BOOT_KEY };
    const made = (await (
      await fetch(`${base}/api-keys`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...admin },
        body: JSON.stringify({ name: 'temp', role: 'viewer' }),
      })
    ).json()) as { key: string };
    expect((await call('get', '/engines', { 'x-api-key': made.key })).status).toBe(200);
    const before = (await (await call('get', '/config/export', admin)).json()) as { version: number };
    expect((await call('delete', '/api-keys/temp', admin)).status).toBe(204);
    expect((await call('get', '/engines', { 'x-api-key': made.key })).status).toBe(401);

    const rollback = await fetch(`${base}/config/rollback`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...admin },
      body: JSON.stringify({ version: before.version }),
    });
    expect(rollback.status).toBe(200);
    expect((await call('get', '/engines', { 'x-api-key': made.key })).status).toBe(401);
    const keys = (await (await call('get', '/api-keys', admin)).json()) as {
      keys: { name: string; revoked?: { revokedBy: string } }[];
    };
    expect(keys.keys.find((k) => k.name === 'temp')?.revoked?.revokedBy).toMatch(/^boot/);
    const history = (await (await call('get', '/config/history?limit=1', admin)).json()) as {
      versions: { summary: string }[];
    };
    expect(history.versions[0].summary).toBe(
      `rollback to version ${before.version} (revoked keys stay revoked: temp)`,
    );
    const imported = await fetch(`${base}/config/import`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...admin },
      body: JSON.stringify(before),
    });
    expect(imported.status).toBe(200);
    expect((await call('get', '/engines', { 'x-api-key': made.key })).status).toBe(401);
  });

  it('shows notification channel secrets to no reader, keeps them on a write-back, and exports them to admins', async () => {
    const admin = { 'x-api-key': BOOT_KEY };
    const channels = [
      { name: 'hook', type: 'slack', url: 'https://hooks.slack.example/services/T0/B0/s3cr3t' },
      { name: 'mail', type: 'email', url: 'smtp://alerts:hunter2@mail.example:587', to: ['ops@example.com'] },
    ];
    for (const c of channels) {
      const res = await fetch(`${base}/notification-channels`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...admin },
        body: JSON.stringify(c),
      });
      expect(res.status).toBe(201);
      expect(await res.text()).not.toMatch(/s3cr3t|hunter2/);
    }
    const read = await call('get', '/notification-channels', bearer(tokens.viewer!));
    const text = await read.text();
    expect(text).not.toMatch(/s3cr3t|hunter2|services/);
    expect(text).toContain('smtp://alerts:***@mail.example:587');
    const one = await call('get', '/notification-channels/hook', bearer(tokens.admin!));
    const shown = (await one.json()) as { revision?: number } & Record<string, unknown>;
    expect(JSON.stringify(shown)).not.toContain('s3cr3t');
    // Sent back exactly as read: nothing changes, the secret stays.
    const before = (await (await call('get', '/config/export', admin)).json()) as { version: number };
    const doc = { ...shown };
    delete doc.revision;
    const put = await fetch(`${base}/notification-channels/hook`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json', ...admin },
      body: JSON.stringify(doc),
    });
    expect(put.status).toBe(200);
    const after = (await (await call('get', '/config/export', admin)).json()) as {
      version: number;
      'notification-channels': { name: string; url: string }[];
    };
    expect(after.version).toBe(before.version);
    expect(after['notification-channels'].find((c) => c.name === 'hook')?.url).toBe(channels[0].url);
    // Admin gRPC reads redact the same way.
    const client = new AdminClient(`127.0.0.1:${cp.port}`, grpc.credentials.createInsecure());
    try {
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${tokens.viewer}`);
      const listed = await new Promise<string>((resolve, reject) =>
        client.listEntries({ kind: 'notification-channels' }, md, (e, r) =>
          e ? reject(e) : resolve(JSON.stringify(r)),
        ),
      );
      expect(listed).not.toMatch(/s3cr3t|hunter2/);
      expect(listed).toContain('***');
    } finally {
      client.close();
    }
  });

  it('answers gRPC reflection only to a caller with a role', async () => {
    const protoDir = join(dirname(require.resolve('@grpc/reflection/package.json')), 'build', 'proto');
    const pkg = grpc.loadPackageDefinition(
      protoLoader.loadSync(join(protoDir, 'grpc/reflection/v1/reflection.proto'), {
        keepCase: true,
        oneofs: true,
      }),
    ) as unknown as {
      grpc: {
        reflection: { v1: { ServerReflection: new (a: string, c: grpc.ChannelCredentials) => grpc.Client } };
      };
    };
    const client = new pkg.grpc.reflection.v1.ServerReflection(
      `127.0.0.1:${cp.port}`,
      grpc.credentials.createInsecure(),
    );
    const ask = (md: grpc.Metadata) =>
      new Promise<{ code: grpc.status; services?: string[] }>((resolve) => {
        const stream = (
          client as unknown as {
            ServerReflectionInfo(
              md: grpc.Metadata,
            ): grpc.ClientDuplexStream<object, { list_services_response?: { service: { name: string }[] } }>;
          }
        ).ServerReflectionInfo(md);
        stream.on('data', (r: { list_services_response?: { service: { name: string }[] } }) => {
          resolve({ code: grpc.status.OK, services: r.list_services_response?.service.map((x) => x.name) });
          stream.cancel();
        });
        stream.on('error', (e: grpc.ServiceError) => resolve({ code: e.code }));
        stream.write({ list_services: '' });
      });
    try {
      expect((await ask(new grpc.Metadata())).code).toBe(grpc.status.UNAUTHENTICATED);
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${tokens.viewer}`);
      const answered = await ask(md);
      expect(answered.code).toBe(grpc.status.OK);
      expect(answered.services).toContain('nerve.admin.v1.Admin');
    } finally {
      client.close();
    }
  });

  it('answers CSDS only to a viewer or above: it shows the fleet configuration', async () => {
    const definition = protoLoader.loadSync('envoy/service/status/v3/csds.proto', LOADER_OPTIONS);
    const Ctor = grpc.makeGenericClientConstructor(
      definition['envoy.service.status.v3.ClientStatusDiscoveryService'] as grpc.ServiceDefinition,
      'ClientStatusDiscoveryService',
    );
    const client = new Ctor(`127.0.0.1:${cp.port}`, grpc.credentials.createInsecure()) as unknown as {
      FetchClientStatus(req: object, md: grpc.Metadata, cb: (err: grpc.ServiceError | null) => void): void;
      close(): void;
    };
    const ask = (md: grpc.Metadata) =>
      new Promise<grpc.status>((resolve) =>
        client.FetchClientStatus({}, md, (err) => resolve(err?.code ?? 0)),
      );
    try {
      expect(await ask(new grpc.Metadata())).toBe(grpc.status.UNAUTHENTICATED);
      const md = new grpc.Metadata();
      md.set('authorization', `Bearer ${tokens.viewer}`);
      expect(await ask(md)).toBe(grpc.status.OK);
      // A data plane's credential reads its own configuration over ADS, not every other's.
      const dataplane = new grpc.Metadata();
      dataplane.set('authorization', `Bearer ${await token('dataplane')}`);
      expect(await ask(dataplane)).toBe(grpc.status.PERMISSION_DENIED);
    } finally {
      client.close();
    }
  });

  it('records who changed what from where, in the log and the config history', async () => {
    const res = await fetch(`${base}/engines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${tokens.admin}` },
      body: JSON.stringify({ name: 'audited', versions: [{ name: 'v1', weight: 100 }], instances: [] }),
    });
    expect(res.status).toBe(201);
    const history = (await (await call('get', '/config/history', bearer(tokens.viewer!))).json()) as {
      versions: { actor: string; summary: string }[];
    };
    const entry = history.versions.find((v) => v.summary === 'create engine audited');
    expect(entry?.actor).toMatch(/^admin-user \((::ffff:)?127\.0\.0\.1\)$/);
  });
});
