import { EventBus } from '../../src/control-plane/kernel/events';
import { LeaderElection } from '../../src/control-plane/leader/leader-election';
import { RedisStore } from '../../src/store/redis/redis-store';
import { logger } from '../helpers/cluster';
import { hasRedisSentinel, type SentinelSet, startSentinelSet } from '../helpers/redis-sentinel';
import { withTool } from '../helpers/requires';
import { waitFor } from '../helpers/wait';

// Needs Debian's redis-server and redis-sentinel (CI installs both).
const describeSentinel = withTool(hasRedisSentinel(), 'redis-sentinel').describe;

/** One singleton action: who acted, under which fence, when, and whether the store took its write. */
interface Action {
  readonly replica: string;
  readonly fence: string;
  readonly at: number;
  written?: boolean;
}

const epoch = (fence: string) => Number(fence.slice(fence.lastIndexOf(':') + 1));

describeSentinel('leader fences across a Sentinel failover', () => {
  let set: SentinelSet;
  const stores: RedisStore[] = [];
  const elections: LeaderElection[] = [];
  const timers: NodeJS.Timeout[] = [];

  beforeAll(async () => {
    // 2 s, not 1: on two loaded cores a Sentinel judging a live primary down fails it over again, which
    // is another test's subject (the failover drill's).
    set = await startSentinelSet({ replicas: 1, sentinels: 3, downAfterMs: 2_000 });
  }, 30_000);
  afterAll(async () => {
    for (const t of timers) clearInterval(t);
    for (const e of elections) await e.stop();
    for (const s of stores) await s.close();
    await set.stop();
  });

  it('a failover right after a fence increment: no token handed out twice, never two leaders acting', async () => {
    const target = { kind: 'sentinel' as const, sentinels: set.sentinels, name: set.name, tls: false };
    const timings = { ttlMs: 3_000, renewMs: 1_000, retryMs: 200 };
    const actions: Action[] = [];
    const taken: string[] = [];
    for (const replica of ['a', 'b', 'c']) {
      const store = new RedisStore({ target, prefix: 'f1:', commandTimeoutMs: 600 });
      await store.start();
      stores.push(store);
      const bus = new EventBus(() => undefined);
      const election = new LeaderElection(store.lease, replica, bus, logger, timings);
      bus.on('leader.changed', (e) => e.leading && e.fence !== undefined && taken.push(e.fence));
      elections.push(election);
      await election.start();
      // The singleton work every module gates on the fence: health writes, alert notifications,
      // autoscale and rollout steps all act only while `fence` is set, and write with it.
      timers.push(
        setInterval(() => {
          const fence = election.fence;
          if (fence === undefined) return;
          const action: Action = { replica, fence, at: performance.now() };
          actions.push(action);
          store.putShared('health', [[replica, action.at]], fence).then(
            () => (action.written = true),
            () => (action.written = false),
          );
        }, 25),
      );
    }
    const first = await waitFor(() => taken[0], 'a leader');
    const leader = elections[['a', 'b', 'c'].indexOf(first.split(':')[0])];

    // The fence moves on (the leader hands over), and the primary dies right after.
    await leader.stop();
    const second = await waitFor(() => taken.find((f) => epoch(f) > epoch(first)), 'a new fence');
    await set.failover();
    await waitFor(
      () => actions.some((a) => a.written && a.at > 0 && epoch(a.fence) >= epoch(second)) && taken.length,
      'a leader to write again after the failover',
      30_000,
    );
    const settled = performance.now();
    await waitFor(() => actions.some((a) => a.at > settled + 500 && a.written), 'writes to go on', 30_000);
    for (const t of timers.splice(0)) clearInterval(t);

    // No token twice: every taking of the lease has a higher epoch than the one before it.
    const epochs = taken.map(epoch);
    for (let i = 1; i < epochs.length; i++) expect(epochs[i]).toBeGreaterThanOrEqual(epochs[i - 1]);
    const holders = new Map<number, string>();
    for (const f of taken) {
      expect(holders.get(epoch(f)) ?? f.split(':')[0]).toBe(f.split(':')[0]); // one holder per epoch
      holders.set(epoch(f), f.split(':')[0]);
    }
    // Never two leaders acting: once a replica acts under a newer fence, no older one acts again.
    const ordered = [...actions].sort((x, y) => x.at - y.at);
    let newest = 0;
    let doubled = 0;
    for (const a of ordered) {
      if (epoch(a.fence) < newest) doubled++;
      newest = Math.max(newest, epoch(a.fence));
    }
    expect(doubled).toBe(0);
    // And the store took no write from a fence older than one it took before.
    const written = ordered.filter((a) => a.written);
    let last = 0;
    for (const a of written) {
      expect(epoch(a.fence)).toBeGreaterThanOrEqual(last);
      last = epoch(a.fence);
    }
    expect(written.length).toBeGreaterThan(0);
  }, 90_000);
});
