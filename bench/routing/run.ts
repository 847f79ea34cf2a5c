// npm run bench:routing — capacity-aware routing against the classic balancers, with a real control plane
// and router (this process), engine instances and callers in child processes, on loopback.
//
// 1. Balancing under a burst: one engine of 4 instances — one 5× slower, one cold for its first 500
//    calls (10× slower), one that answers RESOURCE_EXHAUSTED above 8 in flight at once, one plain — at
//    60 % of the fleet's measured capacity, then 150 % for 10 s, then 50 %. For round_robin,
//    least_request, least_response_time (peak EWMA) and probing, each with no limit, a static limit and
//    adaptive concurrency: goodput, p50/p99 of successful calls, errors, each instance's share.
//    Baselines in the same run: peak EWMA and least request (ratios printed).
// 2. Slow start: a cold fourth instance joins a loaded engine; p99 and errors after it joins, on and off.
// 3. Scale from zero: first-call latency beside the instance's own start time.
// 4. Scale-in from 4 to 1 under load: failed calls.
// 5. Fleet retry budget: 10 routers against a failing engine, fleet retries / fleet calls, with the
//    fleet's budget and with each router's budget alone.
// CPU and memory of this process (control plane and router) and of the children are printed.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { DemoEngine } from '../../src/engines/engine-server';
import { parseEngineSpec } from '../../src/model/validate';
import { RetryBudget } from '../../src/router/resilience/retry-budget';
import { Router } from '../../src/router/router';
import { invoke, logger, startControlPlane, startRouter } from '../../test/helpers/cluster';
import { processEngine, processes, runDir } from '../../test/helpers/fleet';
import { rssMb } from '../process-stats';
import type { InstanceBehaviour } from './capacity-engine';
import type { PhaseResult } from './load';

const PHASE_MS = Number(process.env.BENCH_PHASE_MS ?? 10_000);
const SERVICE_MS = 40;
const WORKERS = 8;
const ONLY = process.env.BENCH_ONLY?.split(',');
const TSX = ['--import', 'tsx'];
/** The balancer of the slow start run (a weighted one: slow start scales weights). */
const SLOW_START_STRATEGY = process.env.BENCH_SLOW_START_STRATEGY ?? 'least_request';

const FLEET: InstanceBehaviour[] = [
  { id: 'plain', workers: WORKERS, serviceMs: SERVICE_MS },
  { id: 'slow', workers: WORKERS, serviceMs: 5 * SERVICE_MS },
  { id: 'cold', workers: WORKERS, serviceMs: SERVICE_MS, coldCalls: 500, coldServiceMs: 10 * SERVICE_MS },
  { id: 'shedder', workers: WORKERS, serviceMs: SERVICE_MS, shedAbove: 8 },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function until<T>(fn: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A child running a bench script; resolves with its first line of output (JSON). */
function child(script: string, arg: unknown): Promise<{ proc: ChildProcess; line: Promise<string> }> {
  const proc = spawn(process.execPath, [...TSX, join(__dirname, script), JSON.stringify(arg)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  const line = new Promise<string>((resolve, reject) => {
    proc.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    proc.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return Promise.resolve({ proc, line });
}

async function engines(fleet: readonly InstanceBehaviour[]) {
  const c = await child('capacity-engine.ts', fleet);
  const addresses = JSON.parse(await c.line) as string[];
  return { proc: c.proc, addresses };
}

async function load(port: number, phases: { rate: number; ms: number }[], engine = 'bench') {
  const c = await child('load.ts', { target: `127.0.0.1:${port}`, engine, phases, deadlineMs: 2_000 });
  const results = JSON.parse(await c.line) as PhaseResult[];
  return { results };
}

async function plane(
  instances: { id: string; address: string }[],
  policy: object,
): Promise<{ cp: ControlPlane; router: Router }> {
  const spec = parseEngineSpec({ name: 'bench', instances, policy });
  if (!spec.ok) throw new Error(spec.errors.join('; '));
  const cp = await startControlPlane([spec.value], { reportIntervalMs: 1_000, healthChecks: false });
  const router = await new Router({
    controlPlanes: [`127.0.0.1:${cp.port}`],
    id: 'bench-router',
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    logger,
    reportIntervalMs: 1_000,
  }).start();
  await until(() => router.state.inRotation('bench').length === instances.length);
  return { cp, router };
}

/** Each instance driven directly (no router) by as many callers as it has workers: what it can serve. */
async function capacity(): Promise<Record<string, number>> {
  const e = await engines(FLEET);
  try {
    const clients = e.addresses.map((a) => new EngineClient(a, grpc.credentials.createInsecure()));
    const measure = async (client: EngineClient, ms: number) => {
      let ok = 0;
      const end = performance.now() + ms;
      await Promise.all(
        Array.from({ length: WORKERS }, async () => {
          while (performance.now() < end)
            if (await invoke(client, undefined, 'echo', 'x').catch(() => 0)) ok++;
        }),
      );
      return ok;
    };
    await measure(clients[2], 1); // nothing: the cold instance warms below
    while ((await measure(clients[2], 2_000)) < 0.9 * ((2_000 / SERVICE_MS) * WORKERS));
    const served = await Promise.all(clients.map((c) => measure(c, 4_000)));
    for (const c of clients) c.close();
    return Object.fromEntries(FLEET.map((f, i) => [f.id, served[i] / 4]));
  } finally {
    e.proc.kill();
  }
}

interface BalancingRow {
  readonly strategy: string;
  readonly limit: string;
  readonly phases: PhaseResult[];
  readonly cpuS: number;
}

async function balancing(strategy: string, limit: string, fleetCapacity: number): Promise<BalancingRow> {
  const e = await engines(FLEET);
  const limits: Record<string, object> = {
    none: {},
    static: { breaker: { maxRequests: 4 * WORKERS }, rateLimit: { queueTimeoutMs: 200 } },
    // Over the limit, a call waits at most 200 ms for a place, then is refused: a short queue absorbs
    // the measurement of the minimum RTT and the jitter of arrivals, not the burst.
    adaptive: {
      adaptiveConcurrency: { samplePercentile: Number(process.env.BENCH_PERCENTILE ?? 90) },
      rateLimit: { queueTimeoutMs: 200 },
    },
  };
  const { cp, router } = await plane(
    FLEET.map((f, i) => ({ id: f.id, address: e.addresses[i] })),
    { strategy, ...limits[limit], outlier: { consecutiveErrors: 0 } },
  );
  const trace: string[] = [];
  const sampler = setInterval(() => {
    const c = router.state.engine('bench')?.concurrency;
    if (c)
      trace.push(`${c.limit}${c.measuring ? 'm' : ''}/${c.minRttMs.toFixed(0)}/${c.sampleRttMs.toFixed(0)}`);
  }, 500);
  try {
    const cpu0 = process.cpuUsage();
    const { results } = await load(router.port, [
      { rate: Math.round(0.6 * fleetCapacity), ms: PHASE_MS },
      { rate: Math.round(1.5 * fleetCapacity), ms: PHASE_MS },
      { rate: Math.round(0.5 * fleetCapacity), ms: PHASE_MS },
    ]);
    const cpu = process.cpuUsage(cpu0);
    if (process.env.BENCH_TRACE_LIMIT)
      console.log(
        `    p99 by instance per phase: ${results.map((r) => JSON.stringify(r.p99By)).join(' | ')}`,
      );
    if (process.env.BENCH_TRACE_LIMIT && trace.length)
      console.log(`    limit/minRtt/sampleRtt every 0.5 s: ${trace.join(' ')}`);
    return { strategy, limit, phases: results, cpuS: (cpu.user + cpu.system) / 1e6 };
  } finally {
    clearInterval(sampler);
    await router.stop(200);
    await cp.stop(500);
    e.proc.kill();
  }
}

function shares(p: PhaseResult): string {
  const total = Object.values(p.shares).reduce((a, b) => a + b, 0) || 1;
  return FLEET.map((f) => `${f.id} ${((100 * (p.shares[f.id] ?? 0)) / total).toFixed(0)}%`).join(' ');
}

const errors = (p: PhaseResult) => Object.values(p.errors).reduce((a, b) => a + b, 0);

async function slowStart(on: boolean, fleetCapacity: number) {
  const joining: InstanceBehaviour[] = [
    { id: 'a', workers: WORKERS, serviceMs: SERVICE_MS },
    { id: 'b', workers: WORKERS, serviceMs: SERVICE_MS },
    { id: 'c', workers: WORKERS, serviceMs: SERVICE_MS },
    { id: 'new', workers: WORKERS, serviceMs: SERVICE_MS, coldCalls: 500, coldServiceMs: 10 * SERVICE_MS },
  ];
  const e = await engines(joining);
  const { cp, router } = await plane(
    joining.slice(0, 3).map((f, i) => ({ id: f.id, address: e.addresses[i] })),
    { strategy: SLOW_START_STRATEGY, ...(on ? { slowStart: { windowMs: 10_000 } } : {}) },
  );
  try {
    const rate = Math.round(0.6 * fleetCapacity);
    const running = load(router.port, [
      { rate, ms: 5_000 },
      { rate, ms: PHASE_MS },
    ]);
    await new Promise((r) => setTimeout(r, 5_000));
    await cp.admin.addInstance({ engine: 'bench', id: 'new', address: e.addresses[3] });
    const { results } = await running;
    return results[1];
  } finally {
    await router.stop(200);
    await cp.stop(500);
    e.proc.kill();
  }
}

function processPlane(name: string, runtime: Record<string, unknown>, extra: object = {}) {
  const spec = parseEngineSpec(processEngine(name, runtime));
  if (!spec.ok) throw new Error(spec.errors.join('; '));
  return startControlPlane([spec.value], { runDir: runDir(), reportIntervalMs: 200, ...extra });
}

async function scaleFromZero(): Promise<{ firstCallMs: number; startMs: number }[]> {
  const cp = await processPlane(
    'zero',
    {
      replicas: 0,
      minReplicas: 0,
      maxReplicas: 1,
      autoscale: { targetInFlight: 10, syncMs: 200, scaleDownCooldownMs: 0, scaleToZero: { idleMs: 1_000 } },
    },
    { summaryWindowMs: 1_000 },
  );
  const router = await startRouter(cp, 'zero-router');
  const client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
  const rounds: { firstCallMs: number; startMs: number }[] = [];
  try {
    await until(() => router.state.engine('zero'));
    for (let round = 0; round < 5; round++) {
      await until(
        () => processes(cp, 'zero').length === 0 && !router.state.engine('zero')?.cluster.endpoints.length,
        60_000,
      );
      const t0 = performance.now();
      await invoke(client, 'zero', 'echo', 'x');
      const firstCallMs = performance.now() - t0;
      const events = cp.admin.fleet.events('zero');
      const ready = events.filter((e) => e.kind === 'instance_ready').at(-1)!;
      rounds.push({ firstCallMs, startMs: Number(ready.data?.startupMs) });
    }
    return rounds;
  } finally {
    client.close();
    await router.stop(200);
    await cp.stop(1_000);
  }
}

async function scaleIn(): Promise<PhaseResult> {
  const cp = await processPlane('shrink', { replicas: 4, minReplicas: 1, maxReplicas: 4 });
  const router = await startRouter(cp, 'shrink-router');
  try {
    await until(() => router.state.inRotation('shrink').length === 4, 60_000);
    const running = load(router.port, [{ rate: 200, ms: 15_000 }], 'shrink');
    await new Promise((r) => setTimeout(r, 3_000));
    await cp.admin.fleet.scale('shrink', { replicas: 1 }, { actor: 'bench', via: 'rest', requestId: 'b' });
    await until(() => processes(cp, 'shrink').length === 1, 60_000);
    return (await running).results[0];
  } finally {
    await router.stop(200);
    await cp.stop(1_000);
  }
}

/** 10 routers, 20 calls a second each, against an engine whose instances fail every call (UNAVAILABLE). */
async function fleetBudget(shared: boolean): Promise<{ ratio: number; calls: number; retries: number }> {
  const applyFleet = RetryBudget.prototype.applyFleet;
  if (!shared) RetryBudget.prototype.applyFleet = function () {};
  // Three instances, all failing: a retry goes to another instance, so a call can make its 3 attempts.
  const failing = await Promise.all(
    ['f1', 'f2', 'f3'].map(async (id) => {
      const e = await new DemoEngine({
        type: 'echo',
        name: 'failing',
        id,
        host: '127.0.0.1',
        port: 0,
        logger,
      }).start();
      e.setFaults({ errorRate: 1, errorCode: grpc.status.UNAVAILABLE });
      return e;
    }),
  );
  const spec = parseEngineSpec({
    name: 'failing',
    instances: failing.map((e) => ({ id: e.id, address: e.address })),
    policy: {
      retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 5 },
      breaker: { minimumCalls: 1_000_000_000 },
      outlier: { consecutiveErrors: 0 },
    },
  });
  if (!spec.ok) throw new Error(spec.errors.join('; '));
  const cp = await startControlPlane([spec.value], { reportIntervalMs: 500, healthChecks: false });
  const routers = await Promise.all(Array.from({ length: 10 }, (_, i) => startRouter(cp, `r${i}`)));
  const clients = routers.map(
    (r) => new EngineClient(`127.0.0.1:${r.port}`, grpc.credentials.createInsecure()),
  );
  try {
    await until(() => routers.every((r) => r.state.engine('failing')));
    const counts = () =>
      routers.reduce(
        (sum, r) => {
          const b = r.state.engine('failing')!.retry.budget;
          return { calls: sum.calls + b.calls, retries: sum.retries + b.retries };
        },
        { calls: 0, retries: 0 },
      );
    const drive = async (ms: number) => {
      const end = performance.now() + ms;
      const pending: Promise<unknown>[] = [];
      for (let tick = 0; performance.now() < end; tick++) {
        for (const c of clients) pending.push(invoke(c, 'failing', 'echo', 'x').catch(() => undefined));
        await new Promise((r) => setTimeout(r, 50));
      }
      await Promise.all(pending);
    };
    await drive(15_000); // the start's reserve spent, the fleet's figures pushed
    const before = counts();
    await drive(15_000);
    const after = counts();
    const calls = after.calls - before.calls;
    const retries = after.retries - before.retries;
    return { ratio: retries / calls, calls, retries };
  } finally {
    RetryBudget.prototype.applyFleet = applyFleet;
    for (const c of clients) c.close();
    await Promise.all(routers.map((r) => r.stop(200)));
    await cp.stop(500);
    await Promise.all(failing.map((e) => e.stop(200)));
  }
}

async function main(): Promise<void> {
  const want = (s: string) => !ONLY || ONLY.includes(s);
  if (want('balancing')) {
    const cap = await capacity();
    const fleetCapacity = Object.values(cap).reduce((a, b) => a + b, 0);
    // Until it has served 500 calls the cold instance serves at a tenth of its rate: the fleet's capacity
    // while it is cold (a balancer that spares it keeps it cold).
    const coldCapacity = fleetCapacity - cap.cold + cap.cold / 10;
    console.log(
      `bench:routing — capacity measured per instance (calls/s, ${WORKERS} workers each): ${JSON.stringify(cap)}; fleet ${fleetCapacity.toFixed(0)}/s warm, ${coldCapacity.toFixed(0)}/s while the cold one is cold`,
    );
    console.log(
      `phases: 60 % (${Math.round(0.6 * fleetCapacity)}/s), 150 % (${Math.round(1.5 * fleetCapacity)}/s), 50 % (${Math.round(0.5 * fleetCapacity)}/s), ${PHASE_MS / 1000} s each; deadline 2 s`,
    );
    const rows: BalancingRow[] = [];
    const LIMITS = process.env.BENCH_LIMITS?.split(',') ?? ['none', 'static', 'adaptive'];
    const STRATS = process.env.BENCH_STRATEGIES?.split(',') ?? [
      'round_robin',
      'least_request',
      'least_response_time',
      'probing',
    ];
    for (const limit of LIMITS)
      for (const strategy of STRATS) {
        const row = await balancing(strategy, limit, fleetCapacity);
        rows.push(row);
        const [p60, p150, p50] = row.phases;
        console.log(
          `  ${strategy.padEnd(20)} ${limit.padEnd(8)} 60%: p50 ${p60.p50.toFixed(0)} p99 ${p60.p99.toFixed(0)} ms err ${errors(p60)} [${shares(p60)}] | 150%: goodput ${(p150.ok / p150.seconds).toFixed(0)}/s (${((100 * p150.ok) / p150.seconds / fleetCapacity).toFixed(0)} % of capacity) p99 ${p150.p99.toFixed(0)} ms err ${errors(p150)} ${JSON.stringify(p150.errors)} | 50%: p99 ${p50.p99.toFixed(0)} ms err ${errors(p50)} | CPU ${row.cpuS.toFixed(1)} s`,
        );
      }
    if (rows.length === 12) {
      const get = (s: string, l: string) => rows.find((r) => r.strategy === s && r.limit === l)!;
      const probing = get('probing', 'none').phases[0].p99;
      console.log(
        `  probing p99 at 60 %: ×${(probing / get('least_response_time', 'none').phases[0].p99).toFixed(2)} of peak EWMA's (goal ≤ 0.7), ×${(probing / get('least_request', 'none').phases[0].p99).toFixed(2)} of least request's (goal ≤ 0.5)`,
      );
      for (const s of ['probing', 'least_request']) {
        const a = get(s, 'adaptive').phases;
        console.log(
          `  ${s} + adaptive concurrency at 150 %: goodput ${((100 * a[1].ok) / a[1].seconds / fleetCapacity).toFixed(0)} % of warm capacity, ${((100 * a[1].ok) / a[1].seconds / coldCapacity).toFixed(0)} % of capacity while cold (goal ≥ 90), admitted p99 ×${(a[1].p99 / a[0].p99).toFixed(2)} of the 60 % phase's (goal ≤ 2); static limit: ${((100 * get(s, 'static').phases[1].ok) / get(s, 'static').phases[1].seconds / fleetCapacity).toFixed(0)} %, ×${(get(s, 'static').phases[1].p99 / get(s, 'static').phases[0].p99).toFixed(2)}`,
        );
      }
    }
    if (want('slow-start')) {
      const four = 4 * cap.plain;
      const off = await slowStart(false, four);
      const on = await slowStart(true, four);
      console.log(
        `  slow start (${SLOW_START_STRATEGY}), a cold 4th instance joining at 60 %: p99 ${on.p99.toFixed(0)} ms, errors ${errors(on)} with slowStart (10 s window) against p99 ${off.p99.toFixed(0)} ms, errors ${errors(off)} without (×${(on.p99 / off.p99).toFixed(2)})`,
      );
    }
  }
  if (want('zero')) {
    const rounds = await scaleFromZero();
    const first = median(rounds.map((r) => r.firstCallMs));
    const start = median(rounds.map((r) => r.startMs));
    console.log(
      `  scale from zero (${rounds.length} rounds, medians): first call ${first.toFixed(0)} ms, the instance's own start ${start.toFixed(0)} ms: +${(first - start).toFixed(0)} ms (goal ≤ +100)`,
    );
  }
  if (want('scale-in')) {
    const r = await scaleIn();
    console.log(
      `  scale-in 4 → 1 at 200 calls/s: ${r.ok} calls served, ${errors(r)} failed ${JSON.stringify(r.errors)} (goal 0)`,
    );
  }
  if (want('budget')) {
    const alone = await fleetBudget(false);
    const fleet = await fleetBudget(true);
    console.log(
      `  10 routers against a failing engine (20 calls/s each, 3 attempts, budget 20 % + 10/s): fleet retries / fleet calls ${fleet.ratio.toFixed(2)} with the fleet's budget against ${alone.ratio.toFixed(2)} with each router's alone (×${(alone.ratio / fleet.ratio).toFixed(1)}); beyond the 20 % share: ${(fleet.ratio - 0.2).toFixed(2)} against ${(alone.ratio - 0.2).toFixed(2)} (×${((alone.ratio - 0.2) / (fleet.ratio - 0.2)).toFixed(1)})`,
    );
  }
  console.log(`  this process (control plane and routers): ${rssMb(process.pid).toFixed(0)} MB RSS`);
}

void main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
