/**
 * npm run bench:xds — control-plane push benchmark.
 * For each stream count: a server process (baseline: bare fan-out ADS server; nerve: the control plane)
 * and a data-plane process with N raw ADS streams that ACK everything. One admin change per round;
 * measured: time from the change to each stream's ACK (p50, p99), server CPU per push, server RSS per
 * idle stream. Then bytes per push, SotW vs delta, for a one-endpoint change in 10,000 endpoints.
 * Env: BENCH_STREAMS (default 1000,5000,10000), BENCH_ROUNDS (default 5; medians are reported).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';
import { bytesPerPush } from './bytes';

const STREAMS = (process.env.BENCH_STREAMS ?? '1000,5000,10000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

type Msg = Record<string, unknown>;

function start(file: string, args: string[]): ChildProcess {
  return fork(join(__dirname, file), args, {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function next(child: ChildProcess, key: string, timeoutMs = 120_000): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "${key}" from ${child.spawnfile} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const on = (m: Msg) => {
      if (m.error) {
        clearTimeout(timer);
        child.off('message', on);
        reject(new Error(String(m.error)));
      } else if (key in m) {
        clearTimeout(timer);
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
  });
}

async function ask(child: ChildProcess, cmd: string, key: string): Promise<Msg> {
  const reply = next(child, key);
  child.send({ cmd });
  return reply;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

interface Result {
  p50: number;
  p99: number;
  cpuSeconds: number;
  kbPerStream: number;
}

async function measure(mode: 'baseline' | 'nerve', streams: number): Promise<Result> {
  const server = start('server.ts', [mode]);
  const { port } = await next(server, 'port');
  const idle = await ask(server, 'stats', 'rss');
  const planes = start('dataplanes.ts', [String(port), String(streams)]);
  try {
    await next(planes, 'ready');
    const connected = await ask(server, 'stats', 'rss');
    const p50s: number[] = [];
    const p99s: number[] = [];
    const cpus: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const before = await ask(server, 'stats', 'cpuMicros');
      planes.send({ cmd: 'watch' });
      const acked = next(planes, 'acks');
      const { t0 } = await ask(server, 'change', 't0');
      const { acks } = await acked;
      const after = await ask(server, 'stats', 'cpuMicros');
      const latencies = (acks as number[]).map((a) => a - (t0 as number)).sort((a, b) => a - b);
      p50s.push(quantile(latencies, 0.5));
      p99s.push(quantile(latencies, 0.99));
      cpus.push(((after.cpuMicros as number) - (before.cpuMicros as number)) / 1e6);
    }
    return {
      p50: median(p50s),
      p99: median(p99s),
      cpuSeconds: median(cpus),
      kbPerStream: ((connected.rss as number) - (idle.rss as number)) / streams / 1024,
    };
  } finally {
    planes.kill('SIGKILL');
    server.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const cpus = (await import('node:os')).cpus();
  console.log(
    `bench:xds on ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, node ${process.version}; ${ROUNDS} rounds, medians`,
  );
  console.log('(shared, noisy machine: compare rows of one run, not runs)\n');
  const row = (...cells: (string | number)[]) =>
    console.log(cells.map((c, i) => String(c).padStart(i === 0 ? 7 : 13)).join(''));
  row('streams', 'server', 'p50 ms', 'p99 ms', 'CPU s/push', 'KB/stream', 'p99 ratio');
  for (const n of STREAMS) {
    const base = await measure('baseline', n);
    const nerve = await measure('nerve', n);
    row(
      n,
      'baseline',
      base.p50.toFixed(1),
      base.p99.toFixed(1),
      base.cpuSeconds.toFixed(3),
      base.kbPerStream.toFixed(1),
      '1.00',
    );
    row(
      n,
      'nerve',
      nerve.p50.toFixed(1),
      nerve.p99.toFixed(1),
      nerve.cpuSeconds.toFixed(3),
      nerve.kbPerStream.toFixed(1),
      (nerve.p99 / base.p99).toFixed(2),
    );
  }
  const bytes = bytesPerPush();
  console.log(`\none-endpoint change in 10,000 endpoints, one client of every ClusterLoadAssignment:`);
  console.log(
    `  SotW ${bytes.sotw} bytes, delta ${bytes.delta} bytes: delta = ${((100 * bytes.delta) / bytes.sotw).toFixed(3)} % of SotW`,
  );
  console.log(
    '\ngoals: 1,000 streams p99 ≤ 250 ms; 10,000 streams p99 ≤ 2,500 ms; ≤ 20 KB per idle stream; delta ≤ 1 % of SotW',
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
