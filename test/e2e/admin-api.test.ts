import * as grpc from '@grpc/grpc-js';
import { AdminClient } from '../../gen/nerve/admin/v1/admin';
import { logger, TestCluster } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

/**
 * The admin surface as a newcomer meets it: both transports refuse the same bad input the same way
 * (one implementation), a drained instance comes back, errors never echo a huge input whole, health
 * answers in status codes probes read, and every change is logged with who, what and the request id.
 */
describe('admin API: one implementation, two transports', () => {
  let cluster: TestCluster;
  let admin: AdminClient;
  type Callback<Res> = (e: grpc.ServiceError | null, r: Res) => void;
  function call<Res = unknown>(name: keyof AdminClient, req: object, md = new grpc.Metadata()): Promise<Res> {
    const method = admin[name] as unknown as (r: object, m: grpc.Metadata, cb: Callback<Res>) => unknown;
    return new Promise<Res>((resolve, reject) =>
      method.call(admin, req, md, (e: grpc.ServiceError | null, r: Res) => (e ? reject(e) : resolve(r))),
    );
  }
  const grpcError = (p: Promise<unknown>) =>
    p.then(
      () => {
        throw new Error('expected an error');
      },
      (e: grpc.ServiceError) => e,
    );

  beforeAll(async () => {
    cluster = await TestCluster.start([
      { name: 'math', type: 'math', instances: 2, policy: { healthCheck: { timeoutMs: 2_000 } } },
      { name: 'down', type: 'echo', instances: 1 },
    ]);
    admin = new AdminClient(`127.0.0.1:${cluster.cp.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    admin?.close();
    await cluster?.stop();
  });

  it('refuses a page size over 1000 and a forged cursor on both transports', async () => {
    const big = await grpcError(call('listEngines', { pageSize: 5000, pageToken: '' }));
    expect(big.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(big.details).toContain('page size (limit) must be an integer from 1 to 1000');
    const forged = await grpcError(call('listEngines', { pageSize: 1, pageToken: 'not a token!' }));
    expect(forged.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(forged.details).toContain('invalid page token');
    const rest = await fetch(`${cluster.apiBase}/engines?limit=5000`);
    expect(rest.status).toBe(400);
    expect(((await rest.json()) as { error: { message: string } }).error.message).toBe(big.details);
    const cursor = await fetch(`${cluster.apiBase}/engines?limit=1&cursor=not%20a%20token!`);
    expect(cursor.status).toBe(400);
    // A real cursor works on both.
    const page = (await (await fetch(`${cluster.apiBase}/engines?limit=1`)).json()) as { nextCursor: string };
    const next = await call<{ engines: { name: string }[] }>('listEngines', {
      pageSize: 1,
      pageToken: page.nextCursor,
    });
    expect(next.engines.map((e) => e.name)).toEqual(['math']);
  });

  it('puts a drained instance back into rotation (REST and gRPC)', async () => {
    const drained = await fetch(`${cluster.apiBase}/engines/math/instances/math-1/drain`, { method: 'POST' });
    expect(drained.status).toBe(200);
    await waitFor(() => !cluster.routable('math').includes('math-1'), 'math-1 out of rotation');
    const back = await fetch(`${cluster.apiBase}/engines/math/instances/math-1/undrain`, { method: 'POST' });
    const body = (await back.json()) as { engine: { instances: { id: string; health: string }[] } };
    expect(body.engine.instances.find((i) => i.id === 'math-1')?.health).not.toBe('draining');
    await waitFor(() => cluster.routable('math').includes('math-1'), 'math-1 back in rotation');

    await fetch(`${cluster.apiBase}/engines/math/instances/math-2/drain`, { method: 'POST' });
    const res = await call<{ engine: { instances: { id: string; health: string }[] } }>('undrainInstance', {
      engine: 'math',
      instanceId: 'math-2',
    });
    expect(res.engine.instances.find((i) => i.id === 'math-2')?.health).not.toBe('draining');
  });

  it('cuts a huge input in its error instead of echoing it whole', async () => {
    const name = 'x'.repeat(9_000);
    const err = await grpcError(call('getEngine', { name }));
    expect(err.code).toBe(grpc.status.NOT_FOUND); // not a metadata-size error
    expect(err.details.length).toBeLessThan(300);
    expect(err.details).toContain('(9000 characters)');
    const rest = await fetch(`${cluster.apiBase}/engines/${name}`);
    expect(rest.status).toBe(404);
    expect(((await rest.json()) as { error: { message: string } }).error.message.length).toBeLessThan(300);
  });

  it('answers health in status codes: 503 for an engine that cannot serve', async () => {
    await waitFor(
      async () => (await fetch(`${cluster.apiBase}/health/down`)).status === 200,
      'down healthy first',
    );
    await cluster.engines.get('down-1')!.stop();
    await waitFor(
      async () => (await fetch(`${cluster.apiBase}/health/down`)).status === 503,
      '503 for the engine',
    );
    const overall = await fetch(`${cluster.apiBase}/health`);
    expect(overall.status).toBe(200); // math still serves: degraded, not down
    expect(((await overall.json()) as { status: string }).status).toBe('degraded');
  });

  it('logs every change with who made it, what it was and the request id', async () => {
    const info = jest.spyOn(logger, 'info');
    try {
      await fetch(`${cluster.apiBase}/engines/math/instances/math-1/drain`, {
        method: 'POST',
        headers: { 'x-request-id': 'req-rest-1' },
      });
      const md = new grpc.Metadata();
      md.set('x-request-id', 'req-grpc-1');
      await call('setInstanceWeight', { engine: 'math', instanceId: 'math-1', weight: 7 }, md);
      await call('undrainInstance', { engine: 'math', instanceId: 'math-1' });
      await fetch(`${cluster.apiBase}/circuit-breakers/math/reset`, { method: 'POST' });
      const changes = (info.mock.calls as unknown as [string, Record<string, unknown>][])
        .filter(([message]) => message === 'admin change')
        .map(([, fields]) => fields);
      expect(changes).toEqual([
        expect.objectContaining({
          action: 'drain instance',
          via: 'rest',
          requestId: 'req-rest-1',
          engine: 'math',
          instance: 'math-1',
          actor: expect.stringContaining('127.0.0.1'),
        }),
        expect.objectContaining({
          action: 'set instance weight',
          via: 'grpc',
          requestId: 'req-grpc-1',
          weight: 7,
          actor: expect.stringContaining('127.0.0.1'),
        }),
        expect.objectContaining({
          action: 'undrain instance',
          via: 'grpc',
          requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        }),
        expect.objectContaining({ action: 'reset circuit', via: 'rest', engine: 'math' }),
      ]);
    } finally {
      info.mockRestore();
    }
  });
});
