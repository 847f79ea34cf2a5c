// npm run bench:weights — closed-loop weights against plain balancing, with real instances and a router on
// loopback: a fleet of two healthy instances, one three times slower and one failing 20 % of calls,
// under a constant 300 calls/s. Printed per strategy: p50/p99 latency and error rate as callers saw
// them (after a warm-up in which closed-loop weights converge). Baseline in the same run: round robin.
// Goal: closed-loop p99 at least 30 % below round robin's. Then the time from a failing canary's first
// bad interval to its weight 0 on the router, beside its floor (interval × failedChecks).
import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { DemoEngine } from '../../src/engines/engine-server';
import { parseEngineSpec } from '../../src/model/validate';
import { Router } from '../../src/router/router';
import { invoke, logger, startControlPlane } from '../../test/helpers/cluster';

const RATE = 300;
const WARMUP_MS = Number(process.env.BENCH_WARMUP_MS ?? 8_000);
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 15_000);
const BASE_MS = 10;

const quantile = (xs: number[], q: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

async function until<T>(fn: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function fleet(): Promise<DemoEngine[]> {
  const make = async (id: string, faults: Parameters<DemoEngine['setFaults']>[0], version = 'v1') => {
    const e = await new DemoEngine({
      type: 'echo',
      name: 'bench',
      id,
      version,
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    e.setFaults(faults);
    return e;
  };
  return Promise.all([
    make('ok-1', { delayMs: BASE_MS }),
    make('ok-2', { delayMs: BASE_MS }),
    make('slow', { delayMs: 3 * BASE_MS }),
    make('flaky', { delayMs: BASE_MS, errorRate: 0.2, errorCode: grpc.status.INTERNAL }),
  ]);
}

async function plane(
  engines: DemoEngine[],
  policy: object,
  extra: object = {},
): Promise<{ cp: ControlPlane; router: Router }> {
  const spec = parseEngineSpec({
    name: 'bench',
    instances: engines.map((e) => ({ id: e.id, address: e.address, version: e.version })),
    policy: { healthCheck: { intervalMs: 1_000 }, ...policy },
    ...extra,
  });
  if (!spec.ok) throw new Error(spec.errors.join('; '));
  const cp = await startControlPlane([spec.value], { reportIntervalMs: 1_000 });
  const router = await new Router({
    controlPlanes: [`127.0.0.1:${cp.port}`],
    id: 'bench-router',
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    logger,
    reportIntervalMs: 1_000,
  }).start();
  await until(() => router.state.inRotation('bench').length === engines.length);
  return { cp, router };
}

/** Open-loop calls at RATE for `ms`; latency from the intended send time. */
async function load(
  client: EngineClient,
  ms: number,
): Promise<{ latencies: number[]; errors: number; calls: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let calls = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; ; i++) {
    const at = start + (i * 1000) / RATE;
    if (at - start >= ms) break;
    const wait = at - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    calls++;
    pending.push(
      invoke(client, 'bench', 'echo', 'x').then(
        () => void latencies.push(performance.now() - at),
        () => void errors++,
      ),
    );
  }
  await Promise.all(pending);
  return { latencies, errors, calls };
}

async function run(name: string, policy: object, extra: object = {}) {
  const engines = await fleet();
  const { cp, router } = await plane(engines, policy, extra);
  const client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
  try {
    await load(client, WARMUP_MS);
    const cpu0 = process.cpuUsage();
    const r = await load(client, MEASURE_MS);
    const cpu = process.cpuUsage(cpu0);
    const weights = Object.fromEntries(
      (router.state.engine('bench')?.cluster.endpoints ?? []).map((e) => [e.id, e.weight]),
    );
    return {
      name,
      p50: quantile(r.latencies, 0.5),
      p99: quantile(r.latencies, 0.99),
      errorRate: r.errors / r.calls,
      cpuS: (cpu.user + cpu.system) / 1e6,
      weights,
    };
  } finally {
    client.close();
    await router.stop(500);
    await cp.stop(1_000);
    await Promise.all(engines.map((e) => e.stop(200)));
  }
}

async function canary(): Promise<{ toZeroMs: number; floorMs: number }> {
  const engines = await fleet();
  const bad = await new DemoEngine({
    type: 'echo',
    name: 'bench',
    id: 'v2',
    version: 'v2',
    host: '127.0.0.1',
    port: 0,
    logger,
  }).start();
  bad.setFaults({ delayMs: BASE_MS, errorRate: 0.2, errorCode: grpc.status.INTERNAL });
  const healthy = engines.slice(0, 2);
  const { cp, router } = await plane(healthy, {});
  const client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
  const ctx = { actor: 'bench', via: 'rest' as const, requestId: 'b' };
  try {
    await cp.admin.addInstance({ engine: 'bench', id: 'v2', address: bad.address, version: 'v2' }, ctx);
    const calls = load(client, 20_000);
    const intervalMs = 1_000;
    const failedChecks = 2;
    const r = await cp.admin.rollouts.create(
      'bench',
      { version: 'v2', steps: [20, 100], intervalMs, analysis: { failedChecks, minRequests: 10 } },
      ctx,
    );
    const routerWeight = () =>
      router.state.engine('bench')?.cluster.versions.find((v) => v.name === 'v2')?.weight ?? 0;
    const t0 = await until(() => (routerWeight() > 0 ? performance.now() : false));
    const t1 = await until(() => (routerWeight() === 0 ? performance.now() : false), 20_000);
    await calls;
    void r;
    return { toZeroMs: t1 - t0, floorMs: intervalMs * failedChecks };
  } finally {
    client.close();
    await router.stop(500);
    await cp.stop(1_000);
    await Promise.all([...engines, bad].map((e) => e.stop(200)));
  }
}

async function main(): Promise<void> {
  const results = [
    await run('round_robin', { strategy: 'round_robin' }),
    await run('least_response_time', { strategy: 'least_response_time' }),
    await run(
      'closed-loop (round_robin + adaptiveWeights)',
      { strategy: 'round_robin' },
      { adaptiveWeights: { intervalMs: 1_000 } },
    ),
  ];
  const rr = results[0];
  console.log(
    `bench:weights: 4 instances (2 at ${BASE_MS} ms, 1 at ${3 * BASE_MS} ms, 1 at ${BASE_MS} ms failing 20 %), ${RATE} calls/s open loop, ${WARMUP_MS} ms warm-up, ${MEASURE_MS} ms measured`,
  );
  for (const r of results)
    console.log(
      `  ${r.name.padEnd(44)} p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms (×${(r.p99 / rr.p99).toFixed(2)} of round robin)  errors ${(r.errorRate * 100).toFixed(2)} %  CPU ${r.cpuS.toFixed(1)} s  weights ${JSON.stringify(r.weights)}`,
    );
  const c = await canary();
  console.log(
    `  failing canary (20 % errors), interval 1000 ms × failedChecks 2: first bad interval → weight 0 on the router ${c.toZeroMs.toFixed(0)} ms (floor ${c.floorMs} ms, ×${(c.toZeroMs / c.floorMs).toFixed(2)})`,
  );
  console.log(`  this process: ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB RSS`);
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
