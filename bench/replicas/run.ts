import Redis from 'ioredis';
import { Router } from '../../src/router/router';
import { createLogger } from '../../src/observability/logger';
import { spawnNerve, type Spawned } from '../../test/helpers/process';
import { startRedis } from '../../test/helpers/redis';
import { cpuSeconds, rssMb } from '../process-stats';

/**
 * Control-plane replicas on one Redis (`npm run bench:replicas`), in one run:
 * 1. Convergence: time from a write (PATCH) on replica A to the ACK of a router connected to replica C,
 *    over BENCH_CHANGES changes (200), p50/p99; baseline: the same with one in-memory control plane
 *    (the write and the router on the same process), and the ratio.
 * 2. Redis commands per change (INFO commandstats, every replica's reads included).
 * 3. Leader failover: the leader SIGKILLed until another replica leads (lease BENCH_LEASE_MS, 3000), 3
 *    times, median.
 * 4. Memory (RSS) per replica with 1,000 engines of 2 instances each, beside the in-memory process's.
 * CPU seconds of each process over the convergence run.
 */

const CHANGES = Number(process.env.BENCH_CHANGES ?? 200);
const LEASE_MS = Number(process.env.BENCH_LEASE_MS ?? 3_000);
const logger = createLogger('bench', 'silent');

interface Cp {
  readonly name: string;
  readonly proc: Spawned;
  readonly xds: string;
  readonly api: string;
}

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const ms = (x: number) => `${x.toFixed(1)} ms`;

async function start(name: string, env: Record<string, string>): Promise<Cp> {
  const proc = spawnNerve(
    ['control-plane', '--host', '127.0.0.1', '--api-port', '0', '--xds-port', '0', '--replica-id', name],
    { LOG_LEVEL: 'error', ...env },
  );
  const [, xds, api] = await proc.waitForOutput(/xDS\/admin gRPC on (\S+), REST on (http:\/\/\S+)/, 30_000);
  return { name, proc, xds, api };
}

async function rest(cp: Cp, method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${cp.api}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

/** Writes on `writer`, timed until the router (connected to another or the same replica) has applied and ACKed it. */
async function convergence(writer: Cp, router: Router): Promise<number[]> {
  const times: number[] = [];
  for (let i = 1; i <= CHANGES + 10; i++) {
    const timeoutMs = 10_000 + i;
    const started = performance.now();
    await rest(writer, 'PATCH', '/engines/bench', { policy: { timeoutMs } });
    // The router ACKs in the same turn it applies a response: applied is ACKed.
    await until(
      'the router to apply the change',
      () => router.state.engine('bench')?.cluster.policy?.timeoutMs === timeoutMs,
      10_000,
    );
    if (i > 10) times.push(performance.now() - started); // the first ten warm up
  }
  return times;
}

async function commandCount(redis: Redis): Promise<Map<string, number>> {
  const info = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const m of info.matchAll(/cmdstat_(\w+):calls=(\d+)/g)) out.set(m[1], Number(m[2]));
  return out;
}

async function leaderOf(cps: Cp[]): Promise<Cp | undefined> {
  for (const cp of cps) {
    const stats = (await rest(cp, 'GET', '/stats').catch(() => undefined)) as
      { replica?: { leader: boolean } } | undefined;
    if (stats?.replica?.leader) return cp;
  }
  return undefined;
}

async function main(): Promise<void> {
  const redis = await startRedis();
  const direct = new Redis(redis.url);
  const env = { REDIS_URL: redis.url, NERVE_REDIS_PREFIX: 'bench:', NERVE_LEADER_LEASE_MS: String(LEASE_MS) };
  const a = await start('cp-a', env);
  const [b, c] = await Promise.all([start('cp-b', env), start('cp-c', env)]);
  const memory = await start('cp-memory', {});
  const spec = { name: 'bench', instances: [{ id: 'bench-1', address: '127.0.0.1:1' }] };
  await rest(a, 'POST', '/engines', spec);
  await rest(memory, 'POST', '/engines', spec);
  const onC = await new Router({
    controlPlanes: [c.xds],
    id: 'on-c',
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    logger,
  }).start();
  const onMemory = await new Router({
    controlPlanes: [memory.xds],
    id: 'on-m',
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    logger,
  }).start();
  await until(
    'the routers to hold the engine',
    () => !!onC.state.engine('bench') && !!onMemory.state.engine('bench'),
  );

  console.log(`# bench:replicas — ${CHANGES} changes, lease ${LEASE_MS} ms, node ${process.version}`);
  const replicasCpu = [a, b, c].map((cp) => cpuSeconds(cp.proc.child.pid!));
  const before = await commandCount(direct);
  const replicated = await convergence(a, onC);
  const after = await commandCount(direct);
  const replicasCpuUsed = [a, b, c].map((cp, i) => cpuSeconds(cp.proc.child.pid!) - replicasCpu[i]);
  const memoryCpu = cpuSeconds(memory.proc.child.pid!);
  const baseline = await convergence(memory, onMemory);
  const memoryCpuUsed = cpuSeconds(memory.proc.child.pid!) - memoryCpu;

  const p = (xs: number[], q: number) => quantile(xs, q);
  console.log('\n## write on A → ACK of a router on C');
  console.log(
    `baseline (one in-memory control plane): p50 ${ms(p(baseline, 0.5))}, p99 ${ms(p(baseline, 0.99))}`,
  );
  console.log(
    `three replicas on Redis:                p50 ${ms(p(replicated, 0.5))}, p99 ${ms(p(replicated, 0.99))}, max ${ms(Math.max(...replicated))}`,
  );
  console.log(
    `ratio: p50 ${(p(replicated, 0.5) / p(baseline, 0.5)).toFixed(2)}x, p99 ${(p(replicated, 0.99) / p(baseline, 0.99)).toFixed(2)}x (goal p99 ≤ 200 ms)`,
  );
  console.log(
    `CPU over the run: A ${replicasCpuUsed[0].toFixed(2)} s, B ${replicasCpuUsed[1].toFixed(2)} s, C ${replicasCpuUsed[2].toFixed(2)} s; in-memory ${memoryCpuUsed.toFixed(2)} s`,
  );

  console.log('\n## Redis commands per change (all replicas)');
  const perChange: string[] = [];
  let total = 0;
  for (const [cmd, n] of after) {
    const d = (n - (before.get(cmd) ?? 0)) / (CHANGES + 10);
    if (d >= 0.05 && cmd !== 'info') {
      perChange.push(`${cmd} ${d.toFixed(2)}`);
      total += d;
    }
  }
  console.log(`${total.toFixed(2)} per change: ${perChange.join(', ')}`);

  console.log('\n## memory per replica with 1,000 engines (2 instances each)');
  const engines = Array.from({ length: 1_000 }, (_, i) => ({
    name: `e${i}`,
    instances: [
      { id: `e${i}-1`, address: `127.0.0.1:${10_000 + (i % 50_000)}` },
      { id: `e${i}-2`, address: `127.0.0.1:${20_000 + (i % 40_000)}` },
    ],
  }));
  const rssBefore = [a, b, c, memory].map((cp) => rssMb(cp.proc.child.pid!));
  await rest(a, 'POST', '/config/import', { engines });
  await rest(memory, 'POST', '/config/import', { engines });
  const target = ((await rest(a, 'GET', '/stats')) as { store: { version: number } }).store.version;
  await until('every replica at the import', async () =>
    (await Promise.all([b, c].map((cp) => rest(cp, 'GET', '/stats')))).every(
      (s) => (s as { store: { version: number } }).store.version === target,
    ),
  );
  await until('the router on C to hold 1,000 engines', () => !!onC.state.engine('e999'), 60_000);
  global.gc?.();
  const rss = [a, b, c, memory].map((cp) => rssMb(cp.proc.child.pid!));
  console.log(
    `before: A ${rssBefore[0].toFixed(0)} MB, B ${rssBefore[1].toFixed(0)} MB, C ${rssBefore[2].toFixed(0)} MB, in-memory ${rssBefore[3].toFixed(0)} MB`,
  );
  console.log(
    `after:  A ${rss[0].toFixed(0)} MB, B ${rss[1].toFixed(0)} MB, C ${rss[2].toFixed(0)} MB, in-memory ${rss[3].toFixed(0)} MB (ratio replica/in-memory ${((rss[0] + rss[1] + rss[2]) / 3 / rss[3]).toFixed(2)}x)`,
  );

  console.log(`\n## leader failover (lease ${LEASE_MS} ms)`);
  const live = [a, b, c];
  const failovers: number[] = [];
  for (let round = 0; round < 3; round++) {
    const leader = await (async () => {
      let l: Cp | undefined;
      await until('a leader', async () => !!(l = await leaderOf(live)));
      return l!;
    })();
    const killedAt = performance.now();
    leader.proc.child.kill('SIGKILL');
    await leader.proc.exited();
    live.splice(live.indexOf(leader), 1);
    await until('a new leader', async () => !!(await leaderOf(live)), LEASE_MS * 4);
    failovers.push(performance.now() - killedAt);
    live.push(await start(`${leader.name}-again-${round}`, env));
  }
  console.log(
    `SIGKILL → new leader: ${failovers.map((f) => ms(f)).join(', ')}; median ${ms(quantile(failovers, 0.5))} (bound: lease + retry = ${LEASE_MS + Math.min(2_000, LEASE_MS / 5)} ms)`,
  );

  await onC.stop(100);
  await onMemory.stop(100);
  for (const cp of [...live, memory]) cp.proc.child.kill('SIGKILL');
  direct.disconnect();
  await redis.stop();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
