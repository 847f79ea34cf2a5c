import { EventBus } from '../../src/control-plane/kernel/events';
import { LeaderElection } from '../../src/control-plane/leader/leader-election';
import type { LeaderLease } from '../../src/store/leader-lease';
import { MemoryStore } from '../../src/store/memory-store';
import { logger } from '../helpers/cluster';

/** A replica's view of the shared lease that can lose its connection (as a paused or cut-off replica). */
function reachable(lease: LeaderLease): { lease: LeaderLease; down: boolean } {
  const handle = { down: false, lease: undefined as unknown as LeaderLease };
  const guard = <T>(fn: () => Promise<T>) => (handle.down ? Promise.reject(new Error('unreachable')) : fn());
  handle.lease = {
    acquire: (h, ttl) => guard(() => lease.acquire(h, ttl)),
    renew: (f, ttl) => guard(() => lease.renew(f, ttl)),
    release: (f) => guard(() => lease.release(f)),
    holder: () => guard(() => lease.holder()),
  };
  return handle;
}

describe('leader election (fake clock)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  const timings = { ttlMs: 15_000, renewMs: 5_000, retryMs: 2_000 };

  it('one leader at a time; a leader cut off stops leading before anyone else can take over', async () => {
    const store = new MemoryStore();
    const events: string[] = [];
    const bus = new EventBus(() => undefined);
    const a = reachable(store.lease);
    const electA = new LeaderElection(a.lease, 'a', bus, logger, timings);
    const electB = new LeaderElection(store.lease, 'b', bus, logger, timings);
    bus.on('leader.changed', (e) =>
      events.push(`${Date.now() - 1_000_000}:${e.leading ? 'lead' : 'follow'}`),
    );
    await electA.start();
    await electB.start();
    expect([electA.leading, electB.leading]).toEqual([true, false]);
    expect(electA.fence).toBe('a:1');
    await jest.advanceTimersByTimeAsync(30_000); // renewals keep a leading
    expect([electA.leading, electB.leading]).toEqual([true, false]);

    a.down = true; // a's renewals fail from now on (last renewal at 30 s)
    let overlap = false;
    for (let t = 0; t < 25_000; t += 100) {
      await jest.advanceTimersByTimeAsync(100);
      if (electA.leading && electB.leading) overlap = true;
    }
    expect(overlap).toBe(false);
    expect([electA.leading, electB.leading]).toEqual([false, true]);
    expect(electB.fence).toBe('b:2');
    // a stepped down a renewal period before its lease ran out; b took over after it had.
    const [aFollows, bLeads] = [
      events.find((e) => e.endsWith('follow'))!,
      events.filter((e) => e.endsWith('lead'))[1],
    ];
    expect(Number(aFollows.split(':')[0])).toBeLessThanOrEqual(30_000 + timings.ttlMs - timings.renewMs);
    expect(Number(bLeads.split(':')[0])).toBeGreaterThanOrEqual(30_000 + timings.ttlMs);
    expect(Number(bLeads.split(':')[0])).toBeLessThanOrEqual(30_000 + timings.ttlMs + timings.retryMs);

    a.down = false; // back: a's old fence is refused, it follows
    await jest.advanceTimersByTimeAsync(10_000);
    expect([electA.leading, electB.leading]).toEqual([false, true]);
    expect(await store.lease.renew('a:1', 1_000)).toBe(false);
    await electB.stop(); // released at once: a takes over at its next retry, not after a lease
    await jest.advanceTimersByTimeAsync(timings.retryMs);
    expect(electA.fence).toBe('a:3');
    await electA.stop();
  });
});
