// npm run bench:fleet — engine lifecycle figures with real `nerve engine` processes under the process
// driver, a real router and calls flowing, production timings (reports every 2 s, restart backoff from
// 1 s): time from `scale` to a new instance receiving calls; time from a crash (SIGKILL) to the instance
// serving again; failed calls while scaling 3 → 1 under 500 calls/s (goal 0).
// Baselines in the same run: a bare `nerve engine` from spawn to SERVING; the same crash figure's floor
// (backoff + bare start); and an instance SIGKILLed under the same load, without the drain.
import { internals } from '../../test/helpers/internals';
import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { probeOnce } from '../../src/control-plane/fleet/probe-once';
import { allocatePort } from '../../src/control-plane/fleet/port';
import { parseEngineSpec } from '../../src/model/validate';
import { logger, startControlPlane } from '../../test/helpers/cluster';
import { processEngine, processes, runDir, Traffic } from '../../test/helpers/fleet';
import { NERVE_BIN } from '../../test/helpers/process';
import { Router } from '../../src/router/router';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const RATE = 500;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function until<T>(fn: () => T | undefined | false, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 2));
  }
}

/** A bare `nerve engine`, from spawn to answering its health check. */
async function bareStart(): Promise<number> {
  const port = await allocatePort('127.0.0.1');
  const t0 = performance.now();
  const child = spawn(process.execPath, [NERVE_BIN, 'engine', '--port', String(port)], {
    stdio: 'ignore',
    env: { ...process.env, LOG_LEVEL: 'warn' },
  });
  while (!(await probeOnce(`127.0.0.1:${port}`, 500))) await new Promise((r) => setTimeout(r, 2));
  const ms = performance.now() - t0;
  child.kill('SIGKILL');
  return ms;
}

async function main(): Promise<void> {
  const spec = parseEngineSpec(
    processEngine('bench', { replicas: 1, maxReplicas: 4, restart: {}, stop: {} }, [], {
      healthCheck: { intervalMs: 1_000, timeoutMs: 1_000, healthyThreshold: 1, unhealthyThreshold: 1 },
    }),
  );
  if (!spec.ok) throw new Error(spec.errors.join('; '));
  const cpu0 = process.cpuUsage();
  const cp = await startControlPlane([spec.value], { runDir: runDir(), reportIntervalMs: 2_000 });
  const router = await new Router({
    controlPlanes: [`127.0.0.1:${cp.port}`],
    id: 'bench-router',
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    logger,
  }).start();
  const client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
  const scale = (n: number) =>
    cp.admin.fleet.scale('bench', n, { actor: 'bench', via: 'rest', requestId: 'b' });
  const traffic = new Traffic(client, 'bench', 100).start();
  try {
    await until(() => processes(cp, 'bench', 'running').length === 1);
    await until(() => router.state.inRotation('bench').length === 1);

    const bare: number[] = [];
    for (let i = 0; i < ROUNDS; i++) bare.push(await bareStart());

    // 1. scale → receiving calls.
    const toCalls: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      const before = new Set(processes(cp, 'bench').map((p) => p.id));
      const t0 = performance.now();
      await scale(2);
      const id = await until(() => processes(cp, 'bench').find((p) => !before.has(p.id))?.id);
      await until(() => (traffic.byInstance.get(id) ?? 0) > 0);
      toCalls.push(performance.now() - t0);
      await scale(1);
      await until(() => processes(cp, 'bench').length === 1);
    }

    // 2. crash → serving again: one of three instances, a different one each round (a second crash
    // within resetAfterMs would double the backoff); the others serve meanwhile.
    await scale(3);
    await until(
      () => processes(cp, 'bench', 'running').length === 3 && router.state.inRotation('bench').length === 3,
    );
    const crashToServing: number[] = [];
    for (let i = 0; i < Math.min(ROUNDS, 3); i++) {
      const victim = processes(cp, 'bench', 'running').sort((a, b) => a.id.localeCompare(b.id))[i];
      const served = traffic.byInstance.get(victim.id) ?? 0;
      const t0 = performance.now();
      process.kill(victim.pid, 'SIGKILL');
      await until(() =>
        processes(cp, 'bench', 'running').find((p) => p.id === victim.id && p.pid !== victim.pid),
      );
      const after = traffic.byInstance.get(victim.id) ?? 0;
      await until(() => (traffic.byInstance.get(victim.id) ?? 0) > Math.max(after, served));
      crashToServing.push(performance.now() - t0);
    }
    await traffic.stop();

    // 3. scale-down 3 → 1 under 500 calls/s; baseline: an instance dying (SIGKILL) with no drain.
    await scale(3);
    await until(
      () => processes(cp, 'bench', 'running').length === 3 && router.state.inRotation('bench').length === 3,
    );
    const load = new Traffic(client, 'bench', RATE).start();
    await new Promise((r) => setTimeout(r, 2_000));
    load.reset();
    const t0 = performance.now();
    await scale(1);
    await until(() => processes(cp, 'bench').length === 1, 60_000);
    const downMs = performance.now() - t0;
    const downCalls = load.ok + load.failures.length;
    const downFailures = load.failures.length;
    load.reset();
    await scale(3);
    await until(
      () => processes(cp, 'bench', 'running').length === 3 && router.state.inRotation('bench').length === 3,
    );
    await new Promise((r) => setTimeout(r, 2_000));
    load.reset();
    const [naive] = processes(cp, 'bench', 'running');
    process.kill(naive.pid, 'SIGKILL');
    await new Promise((r) => setTimeout(r, downMs));
    const naiveCalls = load.ok + load.failures.length;
    const naiveFailures = load.failures.length;
    await load.stop();

    const cpu = process.cpuUsage(cpu0);
    const records = [...internals(cp).store.shared('processes').values()] as unknown as {
      memoryBytes: number;
    }[];
    console.log(
      `bench:fleet: ${ROUNDS} rounds, medians; control plane, router and callers in this process; instances are processes`,
    );
    console.log(
      `  scale 1 → 2 until the new instance receives calls: ${median(toCalls).toFixed(0)} ms (rounds ${toCalls.map((x) => x.toFixed(0)).join(', ')})`,
    );
    console.log(
      `    baseline, bare nerve engine spawn → SERVING: ${median(bare).toFixed(0)} ms (×${(median(toCalls) / median(bare)).toFixed(2)})`,
    );
    console.log(
      `  SIGKILL → the instance serving calls again: ${median(crashToServing).toFixed(0)} ms (rounds ${crashToServing.map((x) => x.toFixed(0)).join(', ')}); restart backoff 1000 ms`,
    );
    console.log(
      `    floor, backoff + bare start: ${(1_000 + median(bare)).toFixed(0)} ms (×${(median(crashToServing) / (1_000 + median(bare))).toFixed(2)})`,
    );
    console.log(
      `  scale 3 → 1 under ${RATE} calls/s: ${downFailures} failed of ${downCalls} (goal 0), done in ${downMs.toFixed(0)} ms`,
    );
    console.log(
      `    baseline, one instance SIGKILLed with no drain: ${naiveFailures} failed of ${naiveCalls}`,
    );
    console.log(
      `  this process: ${(cpu.user / 1e6).toFixed(1)} s user + ${(cpu.system / 1e6).toFixed(1)} s system CPU, ${(process.memoryUsage().rss / 1048576).toFixed(0)} MB RSS; an instance: ${(median(records.map((r) => r.memoryBytes)) / 1048576).toFixed(0)} MB RSS`,
    );
  } finally {
    await traffic.stop();
    client.close();
    await router.stop(500);
    await cp.stop(2_000);
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
