// npm run bench:probing — control-plane CPU while probing 1,000 instances every second (issue goal:
// ≤ 10 % of a core), beside the same control plane with the same 1,000 instances probed once an hour
// (baseline, same run). Engines live in another process, so only the control plane is measured.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { spawnNerve, type Spawned } from '../../test/helpers/process';
import { cpuSeconds, cpuSplit, rssMb } from '../process-stats';

const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1000);
const SERVERS = 20;
const WARM_MS = Number(process.env.BENCH_WARM_MS ?? 10_000);
const MEASURE_MS = Number(process.env.BENCH_MEASURE_MS ?? 30_000);
const ENGINES = 50;

async function engineHost(): Promise<{ addresses: string[]; stop(): void }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(__dirname, 'engine-host.ts'), String(SERVERS)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  const line = await new Promise<string>((resolve) =>
    child.stdout!.once('data', (d: Buffer) => resolve(String(d))),
  );
  return { addresses: JSON.parse(line) as string[], stop: () => child.kill('SIGTERM') };
}

function document(addresses: string[], intervalMs: number) {
  const perEngine = INSTANCES / ENGINES;
  return {
    engines: Array.from({ length: ENGINES }, (_, e) => ({
      name: `engine-${e}`,
      instances: Array.from({ length: perEngine }, (_, i) => ({
        id: `e${e}-i${i}`,
        address: addresses[(e * perEngine + i) % addresses.length],
      })),
      policy: { healthCheck: { intervalMs, timeoutMs: 1_000 } },
    })),
  };
}

async function run(
  label: string,
  addresses: string[],
  intervalMs: number,
): Promise<{ cpuShare: number; rss: number; checks: number }> {
  const cp: Spawned = spawnNerve(
    ['control-plane', '--host', '127.0.0.1', '--api-port', '0', '--xds-port', '0'],
    {
      LOG_LEVEL: 'error',
    },
  );
  try {
    const [, api] = await cp.waitForOutput(/REST on (http:\/\/\S+)/, 30_000);
    const res = await fetch(`${api}/config/import`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(document(addresses, intervalMs)),
    });
    if (!res.ok) throw new Error(`import: ${res.status} ${await res.text()}`);
    await new Promise((r) => setTimeout(r, WARM_MS));
    const pid = cp.child.pid!;
    const probes = async () => {
      const text = await (await fetch(`${api.replace('/api/v1/nerve', '')}/metrics`)).text();
      let n = 0;
      for (const m of text.matchAll(/^nerve_health_probes_total\{[^}]*\} (\d+)/gm)) n += Number(m[1]);
      return n;
    };
    const cpu0 = cpuSeconds(pid);
    const split0 = cpuSplit(pid);
    const probes0 = await probes();
    await new Promise((r) => setTimeout(r, MEASURE_MS));
    const cpuShare = (cpuSeconds(pid) - cpu0) / (MEASURE_MS / 1000);
    const split = cpuSplit(pid);
    const user = (split.user - split0.user) / (MEASURE_MS / 1000);
    const system = (split.system - split0.system) / (MEASURE_MS / 1000);
    const checks = ((await probes()) - probes0) / (MEASURE_MS / 1000);
    const rss = rssMb(pid);
    console.log(
      `  ${label}: CPU ${(cpuShare * 100).toFixed(1)} % of a core (user ${(user * 100).toFixed(1)} %, system ${(system * 100).toFixed(1)} %), ${checks.toFixed(0)} probes/s, RSS ${rss.toFixed(0)} MB`,
    );
    return { cpuShare, rss, checks };
  } finally {
    cp.child.kill('SIGTERM');
    await cp.exited();
  }
}

async function main(): Promise<void> {
  const host = await engineHost();
  try {
    console.log(
      `bench:probing: ${INSTANCES} instances (${ENGINES} engines) on ${SERVERS} engine servers in another process; ${MEASURE_MS / 1000} s measured after ${WARM_MS / 1000} s`,
    );
    const base = await run('baseline, probed hourly', host.addresses, 3_600_000);
    const probing = await run('probing every second', host.addresses, 1_000);
    console.log(
      `  probing adds ${((probing.cpuShare - base.cpuShare) * 100).toFixed(1)} % of a core (×${(probing.cpuShare / Math.max(base.cpuShare, 1e-3)).toFixed(1)} of the baseline); goal ≤ 10 % in all`,
    );
  } finally {
    host.stop();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
