import { withTool } from '../helpers/requires';
import * as grpc from '@grpc/grpc-js';
import { service as healthService } from 'grpc-health-check';
import Redis from 'ioredis';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { DemoEngine } from '../../src/engines/engine-server';
import {
  CLUSTER_TYPE,
  ENGINE_CIRCUITS_TYPE,
  ENGINE_CLUSTER_TYPE,
  LISTENER_TYPE,
  ROUTE_TABLE_TYPE,
} from '../../src/protocol/type-urls';
import { Router } from '../../src/router/router';
import { invoke, logger } from '../helpers/cluster';
import { spawnNerve, type Spawned } from '../helpers/process';
import { hasRedisServer, startRedis, type TestRedis } from '../helpers/redis';
import { waitFor } from '../helpers/wait';
import { served as servedBy } from '../helpers/xds-served';
import { startReceiver } from '../helpers/webhook-receiver';

const LEASE_MS = 1_500;
const TYPES = [ENGINE_CLUSTER_TYPE, ROUTE_TABLE_TYPE, ENGINE_CIRCUITS_TYPE, LISTENER_TYPE, CLUSTER_TYPE];

interface Replica {
  readonly name: string;
  readonly proc: Spawned;
  readonly xds: string;
  readonly api: string;
}

const served = (address: string) => servedBy(address, TYPES);

/** A grpc.health.v1 server that counts the checks it answers: how often the fleet probes an instance. */
async function countingHealthServer(): Promise<{ address: string; checks: () => number; stop(): void }> {
  let checks = 0;
  const server = new grpc.Server();
  server.addService(healthService, {
    check: (_call: unknown, callback: grpc.sendUnaryData<{ status: string }>) => {
      checks++;
      callback(null, { status: 'SERVING' });
    },
    watch: () => undefined,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
      e ? reject(e) : resolve(p),
    ),
  );
  return { address: `127.0.0.1:${port}`, checks: () => checks, stop: () => server.forceShutdown() };
}

// Three control-plane processes on one real Redis; needs Debian's redis-server (CI installs it).
const describeRedis = withTool(hasRedisServer(), 'redis-server').describe;

describeRedis('three control-plane replicas on one Redis', () => {
  let redis: TestRedis;
  let direct: Redis;
  const prefix = `replicas-${process.pid}:`;
  const replicas = new Map<string, Replica>();
  let engine: DemoEngine;
  let probed: Awaited<ReturnType<typeof countingHealthServer>>;
  let router: Router;
  let client: EngineClient;

  const start = async (name: string): Promise<Replica> => {
    const proc = spawnNerve(
      ['control-plane', '--host', '127.0.0.1', '--api-port', '0', '--xds-port', '0', '--replica-id', name],
      { REDIS_URL: redis.url, NERVE_REDIS_PREFIX: prefix, NERVE_LEADER_LEASE_MS: String(LEASE_MS) },
    );
    const [, xds, api] = await proc.waitForOutput(/xDS\/admin gRPC on (\S+), REST on (http:\/\/\S+)/);
    const replica = { name, proc, xds, api };
    replicas.set(name, replica);
    return replica;
  };
  const rest = async (
    r: Replica,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await fetch(`${r.api}${path}`, {
      method,
      headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as Record<string, unknown>,
      retryAfter: res.headers.get('retry-after'),
    };
  };
  const stats = async (r: Replica) =>
    (await rest(r, 'GET', '/stats')).body as {
      replica: { id: string; leader: boolean; leaderFence: string | null };
      store: { state: string; version: number; reason?: string };
    };
  const leaderOf = async (names: string[]) => {
    for (const n of names) if ((await stats(replicas.get(n)!)).replica.leader) return n;
    return undefined;
  };
  const echoCall = async () => (await invoke(client, 'echo', 'echo', 'x')).instanceId;

  beforeAll(async () => {
    redis = await startRedis();
    direct = new Redis(redis.url);
    engine = await new DemoEngine({ type: 'echo', id: 'echo-1', host: '127.0.0.1', port: 0, logger }).start();
    probed = await countingHealthServer();
    const a = await start('cp-a');
    await waitFor(async () => (await stats(a)).replica.leader, 'cp-a to lead');
    await Promise.all([start('cp-b'), start('cp-c')]);
    for (const spec of [
      {
        name: 'echo',
        instances: [{ id: 'echo-1', address: engine.address }],
        policy: { healthCheck: { intervalMs: 100 } },
      },
      {
        name: 'probed',
        instances: [{ id: 'p-1', address: probed.address }],
        policy: { healthCheck: { intervalMs: 100 } },
      },
    ])
      expect((await rest(a, 'POST', '/engines', spec)).status).toBe(201);
    const c = replicas.get('cp-c')!;
    const b = replicas.get('cp-b')!;
    router = await new Router({
      controlPlanes: [c.xds, b.xds],
      id: 'r1',
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      logger,
    }).start();
    client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
    await waitFor(
      async () => (await echoCall().catch(() => '')) === 'echo-1',
      'a call routed through cp-c’s config',
    );
  }, 60_000);

  afterAll(async () => {
    client?.close();
    await router?.stop(200);
    for (const r of replicas.values()) {
      r.proc.child.kill('SIGCONT');
      r.proc.child.kill('SIGKILL');
    }
    probed?.stop();
    await engine?.stop();
    direct?.disconnect();
    await redis?.stop();
  });

  it('a change through A reaches the router on C, and every replica serves identical resources and versions', async () => {
    const [a, b, c] = ['cp-a', 'cp-b', 'cp-c'].map((n) => replicas.get(n)!);
    const patched = await rest(a, 'PATCH', '/engines/echo', { policy: { timeoutMs: 4321 } });
    expect(patched.status).toBe(200);
    await waitFor(
      () => router.state.engine('echo')?.cluster.policy?.timeoutMs === 4321,
      'the router on C to get it',
    );
    // The same store, the same health (measured once, by the leader): the same bytes and versions.
    const views = await waitFor(async () => {
      const all = await Promise.all([a, b, c].map((r) => served(r.xds)));
      const same = all.every((v) => JSON.stringify(v) === JSON.stringify(all[0]));
      return same ? all : undefined;
    }, 'the three replicas to serve the same content');
    expect(Object.keys(views[0]).sort()).toEqual([...TYPES].sort());
    expect(views[0][ENGINE_CLUSTER_TYPE].resources).toHaveLength(2);
    const clients = (await rest(c, 'GET', '/xds/clients')).body as {
      replica: { id: string };
      clients: { nodeId: string; types: { ackedVersion: string; typeUrl: string }[] }[];
    };
    expect(clients.replica.id).toBe('cp-c');
    const r1 = clients.clients.find((x) => x.nodeId === 'r1')!;
    expect(r1.types.find((t) => t.typeUrl === ENGINE_CLUSTER_TYPE)!.ackedVersion).toBe(
      views[0][ENGINE_CLUSTER_TYPE].version,
    );
  });

  it('two concurrent writers with the same If-Match: one 409, no lost update', async () => {
    const [a, b, c] = ['cp-a', 'cp-b', 'cp-c'].map((n) => replicas.get(n)!);
    const current = (await rest(c, 'GET', '/engines/probed')).body as { engine: { revision: number } };
    const tag = { 'if-match': `"${current.engine.revision}"` };
    const results = await Promise.all([
      rest(a, 'PATCH', '/engines/probed', { policy: { timeoutMs: 1111 } }, tag),
      rest(b, 'PATCH', '/engines/probed', { policy: { timeoutMs: 2222 } }, tag),
    ]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 409]);
    const winner = results[0].status === 200 ? 1111 : 2222;
    await waitFor(async () => {
      const e = (await rest(c, 'GET', '/engines/probed')).body as {
        engine: { policy: { timeoutMs: number } };
      };
      return e.engine.policy.timeoutMs === winner;
    }, 'the winner’s write on C');
  });

  it('aggregates the reports of routers on other replicas: circuits per router, loads and summaries, seen from A', async () => {
    const [a, b, c] = ['cp-a', 'cp-b', 'cp-c'].map((n) => replicas.get(n)!);
    let calls = 0;
    const r2 = await new Router({
      controlPlanes: [b.xds],
      id: 'r2',
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      logger,
    }).start();
    const client2 = new EngineClient(`127.0.0.1:${r2.port}`, grpc.credentials.createInsecure());
    try {
      await waitFor(() => r2.state.engine('echo'), 'r2 to get the config from cp-b');
      // Routers report the instances they call: keep calling through both until A has heard of both.
      const routersSeenByA = await waitFor(
        async () => {
          await Promise.all([echoCall(), invoke(client2, 'echo', 'echo', 'x')]);
          calls += 2;
          const view = (await rest(a, 'GET', '/circuit-breakers/echo')).body as {
            instances: { id: string; routers: Record<string, string> }[];
          };
          const routers = Object.keys(view.instances[0].routers).sort();
          return routers.length === 2 ? routers : undefined;
        },
        'A to hear of r1 (on C) and r2 (on B)',
        15_000,
      );
      expect(routersSeenByA).toEqual(['r1', 'r2']);
      const engine = (await rest(a, 'GET', '/engines/echo')).body as {
        engine: { instances: { load?: { requests: number } }[] };
      };
      expect(engine.engine.instances[0].load?.requests).toBeGreaterThan(0);
      // The summary is fleet-wide on every replica: each counts the calls of both routers, once, so
      // once the last reports are in, all three agree (a replica counting a shared report twice would not).
      const counts = await waitFor(
        async () => {
          const seen = await Promise.all(
            [a, b, c].map(async (cp) => {
              const s = (await rest(cp, 'GET', '/metrics/summary')).body as {
                engines: { name: string; requests: number }[];
              };
              return s.engines.find((e) => e.name === 'echo')!.requests;
            }),
          );
          return seen.every((n) => n === seen[0] && n >= calls) ? seen : undefined;
        },
        'every replica to count every call once',
        15_000,
      );
      expect(counts[0]).toBeGreaterThanOrEqual(calls);
    } finally {
      client2.close();
      await r2.stop(200);
    }
  }, 30_000);

  it('leader SIGKILLed: another leads within the lease, probing resumes once (not twice), and an alert firing across the failover is notified once, acts once and resolves once', async () => {
    const a = replicas.get('cp-a')!;
    expect(await leaderOf(['cp-a', 'cp-b', 'cp-c'])).toBe('cp-a');
    // An alert fires and is notified by cp-a before it dies.
    const receiver = await startReceiver();
    const watched = await new DemoEngine({
      type: 'echo',
      id: 'w-1',
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    const notified = (status: string) => receiver.received.filter((r) => r.body.status === status).length;
    try {
      await rest(a, 'POST', '/notification-channels', { name: 'hook', type: 'webhook', url: receiver.url });
      await rest(a, 'POST', '/alert-rules', {
        id: 'down',
        name: 'watched down',
        severity: 'critical',
        event: 'instance_down',
        engine: 'watched',
        groupWaitMs: 0,
        channels: ['hook'],
        actions: [{ type: 'drain', minHealthy: 0, undoOnResolve: true }],
      });
      await rest(a, 'POST', '/engines', {
        name: 'watched',
        instances: [{ id: 'w-1', address: watched.address }],
        policy: { healthCheck: { intervalMs: 100 } },
      });
      await waitFor(async () => {
        const h = (await rest(a, 'GET', '/health/watched')).body as { instances: { health: string }[] };
        return h.instances[0].health === 'healthy';
      }, 'w-1 healthy');
      watched.setServing(false);
      await waitFor(() => notified('firing') === 1, 'the firing notification from cp-a');
      // The rule's action drains the instance, as a versioned change by alert:down.
      const byAlert = async (r: Replica, summary: string) =>
        (
          (await rest(r, 'GET', '/config/history?limit=100')).body.versions as {
            actor: string;
            summary: string;
          }[]
        ).filter((v) => v.actor === 'alert:down' && v.summary === summary).length;
      await waitFor(async () => (await byAlert(a, 'drain watched/w-1')) === 1, 'the drain by the alert');
      // Killed while the alert fires, its delivery recorded. (Killed between the receiver's answer and
      // that record, the new leader delivers again with the same x-nerve-notification-id.)
      await waitFor(async () => {
        const open = (await rest(a, 'GET', '/alerts?state=firing')).body.alerts as {
          notifications: { ok: boolean }[];
        }[];
        return open.length === 1 && open[0].notifications.some((n) => n.ok);
      }, 'the delivery recorded in the store');
      const killedAt = Date.now();
      a.proc.child.kill('SIGKILL');
      await a.proc.exited();
      replicas.delete('cp-a');
      const next = await waitFor(() => leaderOf(['cp-b', 'cp-c']), 'a new leader', 10_000);
      const failoverMs = Date.now() - killedAt;
      expect(failoverMs).toBeLessThan(LEASE_MS + 1_500);
      // One prober at 100 ms takes about 2 s for 20 checks; two would take about 1 s.
      const from = probed.checks();
      const started = Date.now();
      await waitFor(() => probed.checks() >= from + 20, '20 more health checks', 10_000);
      expect(Date.now() - started).toBeGreaterThan(1_500);
      expect((await stats(replicas.get(next)!)).replica.leaderFence).toMatch(new RegExp(`^${next}:\\d+$`));
      // The new leader took the alert over from the store: no second firing notification; the recovery is
      // told once.
      watched.setServing(true);
      await waitFor(() => notified('resolved') === 1, 'the resolve from the new leader', 10_000);
      const alerts = (await rest(replicas.get(next)!, 'GET', '/alerts?state=resolved')).body.alerts as {
        rule: string;
      }[];
      expect(alerts.filter((x) => x.rule === 'down')).toHaveLength(1);
      expect(notified('firing')).toBe(1);
      expect(notified('resolved')).toBe(1);
      // The drain was taken once across the failover, and undone once by the new leader.
      await waitFor(
        async () => (await byAlert(replicas.get(next)!, 'undrain watched/w-1')) === 1,
        'the undrain by the new leader',
      );
      expect(await byAlert(replicas.get(next)!, 'drain watched/w-1')).toBe(1);
      await rest(replicas.get(next)!, 'DELETE', '/engines/watched');
    } finally {
      await watched.stop();
      await receiver.close();
    }
  }, 30_000);

  it('leader paused past its lease, then resumed: it stops leading and nothing it writes is taken', async () => {
    const leader = (await leaderOf(['cp-b', 'cp-c']))!;
    const other = leader === 'cp-b' ? 'cp-c' : 'cp-b';
    const paused = replicas.get(leader)!;
    const oldFence = (await stats(paused)).replica.leaderFence!;
    paused.proc.child.kill('SIGSTOP');
    const newFence = await waitFor(
      async () => {
        const s = await stats(replicas.get(other)!);
        return s.replica.leader ? s.replica.leaderFence : undefined;
      },
      `${other} to take over`,
      10_000,
    );
    expect(Number(newFence!.split(':')[1])).toBeGreaterThan(Number(oldFence.split(':')[1]));
    const [[takeoverId]] = (await direct.xrevrange(`${prefix}shared:feed`, '+', '-', 'COUNT', 1)) as [
      string,
      string[],
    ][];
    paused.proc.child.kill('SIGCONT');
    await waitFor(async () => !(await stats(paused)).replica.leader, 'the resumed replica to stop leading');
    expect(paused.proc.stderr()).toContain('no longer leading the fleet');
    // The new leader shares its health counters every 5 s: wait for one of its writes, then check that
    // every health write since the takeover is signed by the new leader.
    const healthWrites = async () =>
      ((await direct.xrange(`${prefix}shared:feed`, `(${takeoverId}`, '+')) as [string, string[]][])
        .map(([, f]) =>
          Object.fromEntries(
            f.reduce<string[][]>((acc, x, i) => (i % 2 ? acc : [...acc, [x, f[i + 1]]]), []),
          ),
        )
        .filter((f) => f.n === 'health' && f.v)
        .map((f) => (JSON.parse(f.v) as { by: string }).by);
    const signers = await waitFor(
      async () => {
        const by = await healthWrites();
        return by.includes(newFence!) ? by : undefined;
      },
      'a health write by the new leader',
      15_000,
    );
    expect(new Set(signers)).toEqual(new Set([newFence]));
  }, 40_000);

  it('Redis down: routing goes on, writes fail fast with 503, health says degraded; back: no acknowledged write lost', async () => {
    const alive = [...replicas.values()];
    const [b] = alive;
    for (let i = 1; i <= 5; i++)
      expect((await rest(b, 'PATCH', '/engines/probed', { policy: { timeoutMs: 3000 + i } })).status).toBe(
        200,
      );
    await redis.kill();
    await waitFor(async () => (await stats(b)).store.state === 'unavailable', 'the replica to notice');
    const refused = await rest(b, 'PATCH', '/engines/probed', { policy: { timeoutMs: 1 } });
    expect(refused.status).toBe(503);
    expect(refused.retryAfter).toBe('1'); // a hint: a reconnect or a failover takes a second or more
    expect(refused.body.error as { code: string; message: string }).toMatchObject({
      code: 'UNAVAILABLE',
      message: expect.stringMatching(/^configuration store unavailable/),
    });
    const health = (await rest(b, 'GET', '/health')).body as { status: string; store: { reason: string } };
    expect(health.status).toBe('degraded');
    expect(health.store.reason).toBeTruthy();
    expect(await echoCall()).toBe('echo-1');
    await redis.restart();
    await waitFor(
      async () => (await Promise.all(alive.map((r) => stats(r)))).every((s) => s.store.state === 'ok'),
      'every replica back',
      20_000,
    );
    const versions = await Promise.all(alive.map(async (r) => (await stats(r)).store.version));
    expect(new Set(versions).size).toBe(1);
    for (const r of alive) {
      const e = (await rest(r, 'GET', '/engines/probed')).body as {
        engine: { policy: { timeoutMs: number } };
      };
      expect(e.engine.policy.timeoutMs).toBe(3005);
    }
    expect((await rest(b, 'PATCH', '/engines/probed', { policy: { timeoutMs: 3006 } })).status).toBe(200);
    await waitFor(
      () => router.state.engine('probed')?.cluster.policy?.timeoutMs === 3006,
      'the router to get the write made after the restart',
    );
  }, 60_000);

  it('a replica killed: its router moves to the next listed one, keeps routing, and is pushed nothing new', async () => {
    const hosts = async (r: Replica) =>
      (
        (await rest(r, 'GET', '/xds/clients')).body.clients as {
          nodeId: string;
          types: { inSync: boolean }[];
        }[]
      ).some((x) => x.nodeId === 'r1' && x.types.every((t) => t.inSync));
    // The router may have moved while a replica was paused: whichever holds it is the one killed.
    const [current, next] = await waitFor(async () => {
      const [b, c] = ['cp-b', 'cp-c'].map((n) => replicas.get(n)!);
      if (await hosts(c)) return [c, b];
      if (await hosts(b)) return [b, c];
      return undefined;
    }, 'r1 in sync on a replica');
    // Settled: the router holds exactly what the other replica serves (no change still on its way).
    await waitFor(async () => {
      const theirs = await served(next.xds);
      return [ENGINE_CLUSTER_TYPE, ROUTE_TABLE_TYPE, ENGINE_CIRCUITS_TYPE].every(
        (t) => router.ads.states.get(t)!.acceptedVersion === theirs[t].version,
      );
    }, `the router to hold what ${next.name} serves`);
    const updates = router.ads.states.get(ENGINE_CLUSTER_TYPE)!.updates;
    current.proc.child.kill('SIGKILL');
    await current.proc.exited();
    replicas.delete(current.name);
    expect(await echoCall()).toBe('echo-1');
    await waitFor(() => hosts(next), `r1 connected to ${next.name} and in sync`, 15_000);
    // Versions are content digests: the router already holds what the other replica serves.
    expect(router.ads.states.get(ENGINE_CLUSTER_TYPE)!.updates).toBe(updates);
    expect(await echoCall()).toBe('echo-1');
  }, 40_000);
});
