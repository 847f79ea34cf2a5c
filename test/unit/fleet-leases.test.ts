import type { AdminContext } from '../../src/control-plane/commands/admin-context';
import { leaseLapsed } from '../../src/control-plane/fleet/leases';
import { unitPlane } from '../helpers/plane';
import { refusal } from '../helpers/refusal';

const inst: AdminContext = { actor: 'calc-1', via: 'grpc', requestId: '' };

/**
 * Registration with leases over MemoryStore and jest's fake clock: what leases.test.ts shows with real
 * engines registering over gRPC and REST, each rule here in milliseconds of test time.
 */
describe('registration leases over MemoryStore (fake clock)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('lists a registered instance, keeps it while it renews, lapses it a TTL after the last renewal and removes it later', async () => {
    const plane = await unitPlane({ leaseRemoveAfterMs: 10_000 });
    await plane.start();
    const fleet = plane.admin.fleet;
    const grant = await fleet.register(
      { engine: 'calc', id: 'calc-1', address: '127.0.0.1:7001', ttlMs: 3_000, createEngine: true },
      inst,
    );
    expect(grant).toMatchObject({ ttlMs: 3_000, heartbeatIntervalMs: 1_000 });
    const listed = (await plane.views.getEngine('calc')).instances[0];
    expect(listed).toMatchObject({ id: 'calc-1', address: '127.0.0.1:7001', lease: { ttlMs: 3_000 } });

    for (let i = 0; i < 5; i++) {
      await jest.advanceTimersByTimeAsync(2_000);
      await fleet.heartbeat(grant.leaseId);
    }
    expect(leaseLapsed(plane.ctx.store, 'calc', 'calc-1')).toBe(false);
    expect(plane.views.instanceHealth('calc', 'calc-1')).not.toBe('unhealthy');

    await jest.advanceTimersByTimeAsync(3_500);
    expect(leaseLapsed(plane.ctx.store, 'calc', 'calc-1')).toBe(true);
    expect(plane.views.instanceHealth('calc', 'calc-1')).toBe('unhealthy');
    expect(await refusal(fleet.heartbeat(grant.leaseId))).toBe('NOT_FOUND');
    expect(fleet.events('calc').map((e) => e.kind)).toContain('lease_lapsed');

    await jest.advanceTimersByTimeAsync(10_500);
    expect((await plane.views.getEngine('calc')).instances).toEqual([]);
    expect(fleet.events('calc').map((e) => e.kind)).toContain('lease_removed');
    await plane.stop();
  });

  it('takes an instance out at once when it deregisters, and refuses a TTL out of range', async () => {
    const plane = await unitPlane();
    await plane.start();
    const fleet = plane.admin.fleet;
    expect(
      await refusal(
        fleet.register(
          { engine: 'calc', id: 'c', address: '127.0.0.1:1', ttlMs: 10, createEngine: true },
          inst,
        ),
      ),
    ).toBe('INVALID_ARGUMENT');
    const grant = await fleet.register(
      { engine: 'calc', id: 'c', address: '127.0.0.1:1', createEngine: true },
      inst,
    );
    await fleet.deregister(grant.leaseId, inst);
    expect((await plane.views.getEngine('calc')).instances).toEqual([]);
    expect(await refusal(fleet.heartbeat(grant.leaseId))).toBe('NOT_FOUND');
    await plane.stop();
  });

  it('gives every lease a whole TTL under a new leader before lapsing it (an outage with no leader lapses nothing)', async () => {
    const plane = await unitPlane();
    const fleet = plane.admin.fleet;
    // Registered while no replica led: the lease's expiry passes before anyone sweeps.
    const grant = await fleet.register(
      { engine: 'calc', id: 'c', address: '127.0.0.1:1', ttlMs: 2_000, createEngine: true },
      inst,
    );
    jest.setSystemTime(Date.now() + 60_000);
    await plane.start();
    await jest.advanceTimersByTimeAsync(1_500);
    expect(leaseLapsed(plane.ctx.store, 'calc', 'c')).toBe(false);
    await fleet.heartbeat(grant.leaseId);
    await jest.advanceTimersByTimeAsync(1_500);
    expect(leaseLapsed(plane.ctx.store, 'calc', 'c')).toBe(false);
    await jest.advanceTimersByTimeAsync(1_000);
    expect(leaseLapsed(plane.ctx.store, 'calc', 'c')).toBe(true);
    await plane.stop();
  });
});
