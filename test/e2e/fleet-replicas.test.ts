import { withTool } from '../helpers/requires';
import { internals } from '../helpers/internals';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { processAlive } from '../../src/control-plane/fleet/process-usage';
import { parseEngineSpec } from '../../src/model/validate';
import { RedisStore } from '../../src/store/redis/redis-store';
import { startControlPlane } from '../helpers/cluster';
import { processEngine, processes, runDir } from '../helpers/fleet';
import { hasRedisServer, startRedis, type TestRedis } from '../helpers/redis';
import { waitFor } from '../helpers/wait';

jest.setTimeout(60_000);

// Needs redis-server (.ci/run installs it); skipped without, with this reason.
const withRedis = withTool(hasRedisServer(), 'redis-server').describe;

withRedis('engine lifecycle with several replicas', () => {
  let redis: TestRedis;
  const planes: ControlPlane[] = [];
  const stores: RedisStore[] = [];
  const dir = runDir();
  const lease = { ttlMs: 1_500, renewMs: 500, retryMs: 200 };

  async function replica(id: string, stopProcessesOnStop: boolean): Promise<ControlPlane> {
    const spec = parseEngineSpec(processEngine('shared', { replicas: 2, maxReplicas: 4 }));
    if (!spec.ok) throw new Error(spec.errors.join('; '));
    const store = new RedisStore({ url: redis.url, prefix: 'fleet:' });
    stores.push(store);
    const cp = await startControlPlane([spec.value], {
      store,
      replicaId: id,
      lease,
      runDir: dir,
      stopProcessesOnStop,
    });
    planes.push(cp);
    return cp;
  }

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    for (const cp of planes.reverse()) await cp.stop(500).catch(() => undefined);
    for (const store of stores) await store.close();
    await redis?.stop();
  });

  it('supervises on the leader only; a new leader adopts the running processes and never doubles them', async () => {
    const a = await replica('a', false);
    await waitFor(() => internals(a).leader.leading, 'a to lead');
    const first = await waitFor(
      () => {
        const running = processes(a, 'shared', 'running');
        return running.length === 2 ? running : false;
      },
      'two instances running under a',
      20_000,
    );
    const b = await replica('b', true);
    expect(internals(b).leader.leading).toBe(false);
    // A follower sees the same records and starts nothing.
    await waitFor(() => processes(b, 'shared', 'running').length === 2, 'b to see both');

    // A leaves without stopping its processes: b takes over and adopts them by pid.
    await a.stop(500);
    planes.splice(planes.indexOf(a), 1);
    await waitFor(() => internals(b).leader.leading, 'b to lead', 10_000);
    await waitFor(
      () =>
        internals(b)
          .fleetEvents.list('shared')
          .filter((e) => e.kind === 'instance_adopted').length === 2,
      'both adopted',
      // A deadline, not a wait: the new leader's lease, then a probe of each process, then the events'
      // batch; on a loaded CI host that took over 10 s once.
      30_000,
    );
    const pids = first.map((p) => p.pid).sort();
    await waitFor(() => {
      const records = [...internals(b).store.shared('processes').values()] as unknown as {
        replica: string;
        pid: number;
      }[];
      return records.length === 2 && records.every((r) => r.replica === 'b');
    }, 'b to record itself as their supervisor');
    expect(
      processes(b, 'shared')
        .map((p) => p.pid)
        .sort(),
    ).toEqual(pids);
    for (const pid of pids) expect(processAlive(pid)).toBe(true);
    const started = internals(b)
      .fleetEvents.list('shared')
      .filter((e) => e.kind === 'instance_started');
    expect(started).toHaveLength(2); // a's two starts, none by b

    // b scales down: it stops one of the processes it adopted (it is not its child).
    await b.admin.fleet.scale('shared', { replicas: 1 }, { actor: 'test', via: 'rest', requestId: 't' });
    await waitFor(() => processes(b, 'shared').length === 1, 'one instance left', 20_000);
    const gone = pids.filter((pid) => !processes(b, 'shared').some((p) => p.pid === pid));
    expect(gone).toHaveLength(1);
    await waitFor(() => !processAlive(gone[0]), 'the adopted process ended');
  });
});
