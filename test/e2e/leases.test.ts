import { internals } from '../helpers/internals';
import * as grpc from '@grpc/grpc-js';
import * as net from 'node:net';
import { join } from 'node:path';
import {
  AdminClient,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type RegisterRequest,
  type RegisterResponse,
} from '../../gen/nerve/admin/v1/admin';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { DemoEngine } from '../../src/engines/engine-server';
import { registerEngine } from '../../src/engines/registration';
import type { Router } from '../../src/router/router';
import { invoke, logger, startControlPlane, startRouter } from '../helpers/cluster';
import { PYTHON, spawnNerve, spawnWatched } from '../helpers/process';
import { waitFor } from '../helpers/wait';

jest.setTimeout(60_000);

function unary<Req, Res>(
  fn: (r: Req, cb: (e: grpc.ServiceError | null, r: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (e, r) => (e ? reject(e) : resolve(r))));
}

describe('registration with leases', () => {
  let cp: ControlPlane;
  let router: Router;
  let admin: AdminClient;
  let client: EngineClient;
  const engines: DemoEngine[] = [];

  const register = (r: Partial<RegisterRequest>) =>
    unary<RegisterRequest, RegisterResponse>(admin.register.bind(admin), {
      engine: 'leased',
      id: '',
      address: '',
      version: '',
      weight: 0,
      priority: 0,
      ttlMs: 0,
      createEngine: true,
      ...r,
    });
  const heartbeat = (leaseId: string) =>
    unary<HeartbeatRequest, HeartbeatResponse>(admin.heartbeat.bind(admin), { leaseId });
  const health = (engine: string, id: string) => cp.admin.views.instanceHealth(engine, id);
  const listed = (engine: string) =>
    internals(cp)
      .engines.getNow(engine)
      ?.instances.map((i) => i.id) ?? [];

  async function engine(name: string, id: string): Promise<DemoEngine> {
    const e = await new DemoEngine({ type: 'echo', name, id, host: '127.0.0.1', port: 0, logger }).start();
    engines.push(e);
    return e;
  }

  beforeAll(async () => {
    cp = await startControlPlane([], { leaseRemoveAfterMs: 1_500 });
    router = await startRouter(cp, 'lease-router');
    admin = new AdminClient(`127.0.0.1:${cp.port}`, grpc.credentials.createInsecure());
    client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    admin?.close();
    await router?.stop(500);
    await cp?.stop(1_000);
    await Promise.all(engines.map((e) => e.stop(200)));
  });

  it('joins a control plane that starts after the engine (as compose and Kubernetes start them)', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const e = await engine('early', 'early-1');
    const joining = registerEngine(e, `127.0.0.1:${port}`, e.address, {
      ttlMs: 1_000,
      joinTimeoutMs: 20_000,
    });
    const late = await startControlPlane([], { xdsPort: port });
    try {
      const registration = await joining;
      expect((await late.admin.views.getEngine('early')).instances).toEqual([
        expect.objectContaining({ id: 'early-1' }),
      ]);
      await registration.leave();
    } finally {
      await late.stop(500);
    }
    // Nobody there: the join gives up after its timeout, saying so.
    await expect(registerEngine(e, `127.0.0.1:${port}`, e.address, { joinTimeoutMs: 300 })).rejects.toThrow(
      `no control plane of 127.0.0.1:${port} answered within 300 ms`,
    );
  });

  it('keeps an instance while it heartbeats', async () => {
    const e = await engine('kept', 'kept-1');
    const registration = await registerEngine(e, `127.0.0.1:${cp.port}`, e.address, { ttlMs: 1_000 });
    const renewals = new Set<string>();
    await waitFor(() => {
      const lease = internals(cp).leases.lease('kept', 'kept-1');
      if (lease) renewals.add(lease.renewedAt);
      expect(lease?.lapsedAt).toBeNull();
      return renewals.size >= 5;
    }, 'five renewals (more than the TTL)');
    expect(health('kept', 'kept-1')).not.toBe('unhealthy');
    await waitFor(
      async () => (await invoke(client, 'kept', 'echo', 'x').catch(() => undefined))?.instanceId === 'kept-1',
      'a call through the router',
    );
    // A config file restating the engine without it: its next heartbeat lists it again.
    await cp.admin.specs.patch('kept', { instances: [] }, undefined, {
      actor: 'config file',
      via: 'config',
      requestId: 't',
    });
    expect(listed('kept')).toEqual([]);
    await waitFor(() => listed('kept').includes('kept-1'), 'the heartbeat to list it again');
    // An operator's write that drops it (a delete, a rollback): out for good; its heartbeat is refused.
    await cp.admin.specs.patch('kept', { instances: [] }, undefined, {
      actor: 'ops',
      via: 'rest',
      requestId: 't',
    });
    await waitFor(
      () => internals(cp).leases.lease('kept', 'kept-1')?.removedBy === 'ops',
      'the lease marked removed',
    );
    await expect(heartbeat(registration.leaseId)).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: expect.stringMatching(/kept\/kept-1 was removed by ops .*not re-added/),
    });
    expect(listed('kept')).toEqual([]);
    await registration.leave();
  });

  it('takes an instance out of routing when its heartbeats stop, and back when it registers again', async () => {
    const e = await engine('leased', 'leased-1');
    const grant = await register({ id: 'leased-1', address: e.address, ttlMs: 1_000 });
    expect(grant).toMatchObject({ ttlMs: 1_000, heartbeatIntervalMs: 333 });
    await waitFor(() => router.state.inRotation('leased').includes('leased-1'), 'it in rotation');
    // No heartbeat: the lease lapses after its TTL.
    await waitFor(() => internals(cp).leases.isLapsed('leased', 'leased-1'), 'the lease to lapse', 5_000);
    expect(health('leased', 'leased-1')).toBe('unhealthy');
    const report = await cp.admin.views.health('leased');
    expect(report.engines[0].instances[0].reasons.map((r) => r.code)).toContain('lease_lapsed');
    await waitFor(() => !router.state.inRotation('leased').includes('leased-1'), 'it out of the router');
    expect(
      internals(cp)
        .fleetEvents.list('leased')
        .map((x) => x.kind),
    ).toContain('lease_lapsed');
    await expect(heartbeat(grant.leaseId)).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: expect.stringMatching(/lapsed.*register again/),
    });
    // Same id again: same identity, a new lease, back in rotation.
    const again = await register({ id: 'leased-1', address: e.address, ttlMs: 5_000 });
    expect(again.leaseId).not.toBe(grant.leaseId);
    await waitFor(() => router.state.inRotation('leased').includes('leased-1'), 'it back in rotation');
    expect(listed('leased')).toEqual(['leased-1']);
  });

  it('removes an instance whose lease stayed lapsed', async () => {
    const e = await engine('gone', 'gone-1');
    await register({ engine: 'gone', id: 'gone-1', address: e.address, ttlMs: 1_000 });
    await waitFor(() => listed('gone').length === 0, 'it removed after the lapse', 10_000);
    await waitFor(
      () =>
        internals(cp)
          .fleetEvents.list('gone')
          .some((x) => x.kind === 'lease_removed'),
      'the removal event',
    );
    expect(
      internals(cp)
        .fleetEvents.list('gone')
        .map((x) => x.kind),
    ).toEqual(['registered', 'lease_lapsed', 'lease_removed']);
  });

  it('refuses bad registrations precisely', async () => {
    await expect(
      register({ engine: 'nowhere', id: 'a', address: '127.0.0.1:1', createEngine: false }),
    ).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
    });
    await expect(register({ id: 'BAD ID', address: '127.0.0.1:1' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/id: must be/),
    });
    await expect(register({ id: 'x', address: '127.0.0.1:1', ttlMs: 10 })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/ttl_ms must be from 1000/),
    });
    await expect(heartbeat('leased/none/abc')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('`nerve engine --control-plane` registers with a lease and leaves on SIGTERM', async () => {
    const proc = spawnNerve([
      'engine',
      '--name',
      'cli-engine',
      '--id',
      'cli-1',
      '--control-plane',
      `127.0.0.1:${cp.port}`,
    ]);
    await proc.waitForOutput(/ready on/);
    expect(internals(cp).leases.lease('cli-engine', 'cli-1')).toBeDefined();
    await waitFor(
      async () =>
        (await invoke(client, 'cli-engine', 'echo', 'x').catch(() => undefined))?.instanceId === 'cli-1',
      'a call to it',
    );
    proc.child.kill('SIGTERM');
    expect((await proc.exited()).code).toBe(0);
    expect(listed('cli-engine')).toEqual([]);
  });

  it('a Python engine (python3-grpcio) registers, serves calls through the router and leaves on SIGTERM', async () => {
    const script = join(__dirname, '..', '..', 'examples', 'python-engine', 'engine.py');
    const py = spawnWatched(PYTHON, [
      script,
      '--control-plane',
      `127.0.0.1:${cp.port}`,
      '--engine',
      'py',
      '--id',
      'py-1',
      '--ttl-ms',
      '1500',
    ]);
    await py.waitForOutput(/ready on/);
    const answer = await waitFor(
      async () => (await invoke(client, 'py', 'reverse', 'nerve').catch(() => undefined)) ?? false,
      'a call served by the Python engine',
    );
    expect(answer).toMatchObject({ instanceId: 'py-1', engine: 'py', version: 'v1' });
    expect(answer.payload.toString()).toBe('evren');
    // Its heartbeats keep it past several TTLs.
    const renewals = new Set<string>();
    await waitFor(() => {
      renewals.add(internals(cp).leases.lease('py', 'py-1')?.renewedAt ?? '');
      return renewals.size >= 5;
    }, 'the Python engine to heartbeat');
    expect(internals(cp).leases.isLapsed('py', 'py-1')).toBe(false);
    py.child.kill('SIGTERM');
    expect((await py.exited()).code).toBe(0);
    expect(py.stdout()).toContain('left');
    expect(listed('py')).toEqual([]);
  });

  it('puts drains, undrains and lease lapses in the engine’s health history, with reason and actor', async () => {
    const e = await engine('hist', 'hist-1');
    const grant = await register({ engine: 'hist', id: 'hist-1', address: e.address, ttlMs: 1_000 });
    await waitFor(() => router.state.inRotation('hist').includes('hist-1'), 'in rotation');
    const since = Date.now() - 1;
    const ops = { actor: 'ops', via: 'rest' as const, requestId: 'r' };
    await cp.admin.drainInstance('hist', 'hist-1', ops);
    await cp.admin.undrainInstance('hist', 'hist-1', ops);
    // No heartbeat: the lease lapses.
    await waitFor(() => internals(cp).leases.isLapsed('hist', 'hist-1'), 'the lapse', 5_000);
    const history = await waitFor(async () => {
      const h = await cp.admin.views.healthHistory('hist', since);
      return h.length >= 3 ? h : undefined;
    }, 'three routing changes in the history');
    expect(history.map((t) => [t.kind, t.from, t.to, t.actor])).toEqual([
      ['drain', 'serving', 'draining', 'ops'],
      ['drain', 'draining', 'serving', 'ops'],
      ['lease', 'leased', 'lease_lapsed', 'leases'],
    ]);
    expect(history[0].reason).toBe('drained by ops: no new calls');
    expect(history[2].reason).toMatch(/no heartbeat for \d+ ms/);
    // The same over admin gRPC.
    const got = await unary<
      { engine: string; sinceMs: number },
      { engines: { history: { kind: string; actor: string }[] }[] }
    >(
      (
        admin as unknown as {
          getHealth: (r: unknown, cb: (e: grpc.ServiceError | null, r: never) => void) => unknown;
        }
      ).getHealth.bind(admin),
      { engine: 'hist', sinceMs: since },
    );
    expect(got.engines[0].history.map((t) => `${t.kind}:${t.actor}`)).toEqual([
      'drain:ops',
      'drain:ops',
      'lease:leases',
    ]);
    expect(grant.leaseId).toBeDefined();
  });

  it('removes an engine a registration created once every instance left, and keeps one an admin made', async () => {
    const e = await engine('ephemeral', 'ephemeral-1');
    const grant = await register({
      engine: 'ephemeral',
      id: 'ephemeral-1',
      address: e.address,
      ttlMs: 5_000,
    });
    await cp.admin.specs.create(
      { name: 'configured', versions: [{ name: 'v1', weight: 100 }], instances: [] },
      { actor: 'ops', via: 'rest', requestId: 'r' },
    );
    await unary(admin.deregister.bind(admin), { leaseId: grant.leaseId });
    expect(listed('ephemeral')).toEqual([]);
    await waitFor(
      () => internals(cp).engines.getNow('ephemeral') === undefined,
      'the empty registered engine gone',
      10_000,
    );
    const removal = (await cp.admin.config.history(5)).versions.find((v) =>
      /remove engine ephemeral/.test(v.summary),
    );
    expect(removal?.actor).toBe('leases');
    expect(internals(cp).engines.getNow('configured')).toBeDefined();
  });
});
