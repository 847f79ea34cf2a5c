/**
 * npm run bench:xds — the control plane's xDS at scale.
 *
 * Servers (one process each, one at a time): `baseline`, a bare grpc-js ADS server that writes one
 * fixed response to every stream on a change (no protocol logic: grpc-js's floor); `nerve`, this
 * control plane; and `previous`, the control plane of another checkout when BENCH_PREVIOUS names its
 * folder (the version before a change, measured in the same run). Data planes run in other processes
 * (one per 12,500 streams, at least two), every stream on a TCP connection of its own.
 *
 * Per stream count: server RSS per stream (after a GC, over the server's RSS before any connected),
 * change convergence (an admin change to every stream's ACK: p50, p99), server CPU per change per 1,000
 * streams, after one untimed change (the first push compiles code no connection ran yet). Then the storm: 1,000 streams connected, 10,000 more connecting at once; the time until every
 * one of them holds its configuration, the server's peak RSS, and the change latency of the 1,000
 * meanwhile. Then bytes per push, SotW vs delta.
 * Env: BENCH_STREAMS (default 1000,10000,50000), BENCH_ROUNDS (default 5; medians), BENCH_SERVERS
 * (default baseline,nerve, plus previous with BENCH_PREVIOUS), BENCH_STORM (default 10000; 0 skips),
 * BENCH_FROM_SOURCE=1 (servers load src/ through tsx instead of tsc's output in dist/, built first).
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { bytesPerPush } from './bytes';

const STREAMS = (process.env.BENCH_STREAMS ?? '1000,10000,50000').split(',').map(Number);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const PREVIOUS = process.env.BENCH_PREVIOUS;
const SERVERS = (process.env.BENCH_SERVERS ?? `baseline,nerve${PREVIOUS ? ',previous' : ''}`).split(',');
const STORM = Number(process.env.BENCH_STORM ?? 10_000);
const PER_PROCESS = 12_500;
/** Time given to connected streams before their memory is read: two of the HTTP/2 sweeper's passes. */
const SETTLE_MS = 2_500;

type Msg = Record<string, unknown>;

function start(file: string, args: string[], root?: string): ChildProcess {
  return fork(file, args, {
    env: root === undefined ? process.env : { ...process.env, BENCH_ROOT: root },
    execArgv: ['--import', 'tsx', '--expose-gc', '--max-old-space-size=8192'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
}

function server(mode: string): ChildProcess {
  if (mode === 'previous') {
    if (!PREVIOUS) throw new Error('BENCH_PREVIOUS names no checkout');
    // This harness, that checkout's control plane: only the control plane differs.
    return start(join(__dirname, 'server.ts'), ['nerve'], PREVIOUS);
  }
  return start(join(__dirname, 'server.ts'), [mode]);
}

function next(child: ChildProcess, key: string, timeoutMs = 600_000): Promise<Msg> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${key}" within ${timeoutMs} ms`)), timeoutMs);
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

async function ask(child: ChildProcess, cmd: object, key: string): Promise<Msg> {
  if (!child.connected) throw new Error(`${child.spawnfile} has gone`);
  const reply = next(child, key);
  child.send(cmd);
  return reply;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

/**
 * Connections the server may hold: a process may have `ulimit -n` files open (RLIMIT_NOFILE, which a
 * confined process cannot raise), less room for its own. Past it, streams share connections, and the
 * run says so.
 */
const MAX_CONNECTIONS = Number(process.env.BENCH_MAX_CONNECTIONS ?? 18_000);
const perConnection = (streams: number) => Math.ceil(streams / Math.min(streams, MAX_CONNECTIONS));

/** Data-plane processes, each from its own loopback address (its own 28,000 ephemeral ports). */
async function planes(port: number, count: number, tag: string, first = 0): Promise<ChildProcess[]> {
  const n = Math.max(2, Math.ceil(count / PER_PROCESS));
  const out: ChildProcess[] = [];
  for (let k = 0; k < n; k++) {
    const p = start(join(__dirname, 'dataplanes.ts'), [
      String(port),
      `127.0.${1 + first + k}.1`,
      `${tag}${k}`,
      String(perConnection(count)),
    ]);
    await next(p, 'up');
    out.push(p);
  }
  return out;
}

/** Connects `count` streams spread over `procs`; resolves with each stream's time to its first config. */
async function connect(
  procs: ChildProcess[],
  count: number,
  perBatch: number,
  spreadMs = 0,
): Promise<number[]> {
  const shares = procs.map((_, k) => Math.floor(count / procs.length) + (k < count % procs.length ? 1 : 0));
  const replies = await Promise.all(
    procs.map((p, k) => ask(p, { cmd: 'connect', count: shares[k], perBatch, spreadMs }, 'connected')),
  );
  return replies.flatMap((r) => (r.firstConfigMs as number[]).filter((x) => x >= 0));
}

/** One change; resolves with every stream's latency from the change to its ACK, sorted. */
async function change(srv: ChildProcess, procs: ChildProcess[]): Promise<number[]> {
  for (const p of procs) p.send({ cmd: 'watch' });
  const acked = Promise.all(procs.map((p) => next(p, 'acks')));
  const { t0 } = await ask(srv, { cmd: 'change' }, 't0');
  const all = (await acked).flatMap((r) => r.acks as number[]);
  return all.map((a) => a - (t0 as number)).sort((a, b) => a - b);
}

interface Result {
  p50: number;
  p99: number;
  cpuMsPerThousand: number;
  kbPerStream: number;
  /** p99 of GET /health asked every 10 ms while the changes were pushed (the servers with an API). */
  healthP99: number | undefined;
}

/** Asks GET /health every 10 ms until stopped; resolves with the latencies. */
function pollHealth(apiPort: number | undefined): { stop: () => Promise<number[]> } {
  if (apiPort === undefined) return { stop: async () => [] };
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      await (await fetch(`http://127.0.0.1:${apiPort}/api/v1/nerve/health`)).text();
      latencies.push(performance.now() - t);
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return latencies;
    },
  };
}

async function measure(mode: string, streams: number): Promise<Result> {
  const srv = server(mode);
  const procs: ChildProcess[] = [];
  try {
    const { port, apiPort } = await next(srv, 'port');
    const idle = await ask(srv, { cmd: 'stats' }, 'rss');
    procs.push(...(await planes(port as number, streams, 'dp')));
    await connect(procs, streams, 500);
    // What holding the streams costs, once they settled: the first responses' buffers gone back (the
    // sweeper's second pass) and a GC; not the peak of connecting, which the storm measures.
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    const connected = await ask(srv, { cmd: 'stats' }, 'rss');
    // One change and one poll untimed: the first push after connecting runs code the connections never
    // ran (a push to a stream that holds a version), and every process compiles it then.
    const warm = pollHealth(apiPort as number | undefined);
    await change(srv, procs);
    await warm.stop();
    const p50s: number[] = [];
    const p99s: number[] = [];
    const cpus: number[] = [];
    const health: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // No GC in the counted window: a full collection of 10,000 connections' objects is not a push.
      const before = await ask(srv, { cmd: 'stats', noGc: true }, 'cpuMicros');
      const poll = pollHealth(apiPort as number | undefined);
      const latencies = await change(srv, procs);
      health.push(...(await poll.stop()));
      const after = await ask(srv, { cmd: 'stats', noGc: true }, 'cpuMicros');
      p50s.push(quantile(latencies, 0.5));
      p99s.push(quantile(latencies, 0.99));
      cpus.push(((after.cpuMicros as number) - (before.cpuMicros as number)) / 1e3);
    }
    return {
      p50: median(p50s),
      p99: median(p99s),
      cpuMsPerThousand: (median(cpus) * 1000) / streams,
      kbPerStream: ((connected.rss as number) - (idle.rss as number)) / streams / 1024,
      healthP99:
        health.length > 0
          ? quantile(
              health.sort((a, b) => a - b),
              0.99,
            )
          : undefined,
    };
  } finally {
    for (const p of procs) p.kill('SIGKILL');
    srv.kill('SIGKILL');
  }
}

interface Storm {
  allConfiguredMs: number;
  p99ConfiguredMs: number;
  peakRssMb: number;
  changeP99s: number[];
}

/**
 * 1,000 streams connected; then `count` more connect at once (each process opens its share in one go)
 * while a change is made every second and timed on the 1,000.
 */
async function storm(mode: string, count: number): Promise<Storm> {
  const srv = server(mode);
  const steady: ChildProcess[] = [];
  const crowd: ChildProcess[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    const { port } = await next(srv, 'port');
    steady.push(...(await planes(port as number, 1_000, 'steady')));
    await connect(steady, 1_000, 500);
    crowd.push(...(await planes(port as number, count, 'storm', steady.length)));
    let peak = 0;
    sampler = setInterval(() => {
      ask(srv, { cmd: 'stats', noGc: true }, 'rss').then(
        (s) => (peak = Math.max(peak, s.rss as number)),
        () => undefined,
      );
    }, 100);
    const arrived = connect(crowd, count, 0, 1_000);
    let done = false;
    void arrived.then(
      () => (done = true),
      () => (done = true),
    );
    const changeP99s: number[] = [];
    while (!done) {
      changeP99s.push(quantile(await change(srv, steady), 0.99));
      await new Promise((r) => setTimeout(r, 1_000));
    }
    clearInterval(sampler);
    const first = (await arrived).sort((a, b) => a - b);
    const last = await ask(srv, { cmd: 'stats' }, 'rss');
    return {
      allConfiguredMs: first[first.length - 1],
      p99ConfiguredMs: quantile(first, 0.99),
      peakRssMb: Math.max(peak, (last.maxRss as number | undefined) ?? 0) / 2 ** 20,
      changeP99s,
    };
  } finally {
    clearInterval(sampler);
    for (const p of [...steady, ...crowd]) p.kill('SIGKILL');
    srv.kill('SIGKILL');
  }
}

/**
 * The servers run tsc's output (server.ts): this checkout's is built now, so it is never stale; a
 * previous checkout's once, if it has none.
 */
function build(root: string, always: boolean): void {
  if (process.env.BENCH_FROM_SOURCE === '1') return;
  if (!always && existsSync(join(root, 'dist/src/control-plane/control-plane.js'))) return;
  console.log(`building ${root} (tsc)…`);
  execFileSync(join(__dirname, '..', '..', 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.json'], {
    cwd: root,
    stdio: 'inherit',
  });
}

async function main(): Promise<void> {
  build(join(__dirname, '..', '..'), true);
  if (PREVIOUS && SERVERS.includes('previous')) build(PREVIOUS, false);
  const cpus = (await import('node:os')).cpus();
  console.log(
    `bench:xds on ${cpus.length} × ${cpus[0]?.model ?? 'cpu'}, node ${process.version}; ${ROUNDS} rounds, medians`,
  );
  console.log('(shared, noisy machine: compare rows of one run, not runs)\n');
  const row = (...cells: (string | number)[]) =>
    console.log(cells.map((c, i) => String(c).padStart(i === 0 ? 7 : 14)).join(''));
  row('streams', 'server', 'p50 ms', 'p99 ms', 'CPU ms/1k', 'KB/stream', 'KB vs base', '/health p99');
  for (const n of STREAMS) {
    if (perConnection(n) > 1)
      console.log(
        `(${n.toLocaleString('en')} streams: ${perConnection(n)} to a connection; this machine allows ${MAX_CONNECTIONS.toLocaleString('en')} connections (BENCH_MAX_CONNECTIONS, under ulimit -n))`,
      );
    const results = new Map<string, Result>();
    for (const mode of SERVERS) {
      try {
        results.set(mode, await measure(mode, n));
      } catch (err) {
        console.log(`${String(n).padStart(7)}${mode.padStart(14)}  failed: ${(err as Error).message}`);
        continue;
      }
      const r = results.get(mode)!;
      const base = results.get('baseline');
      row(
        n,
        mode,
        r.p50.toFixed(1),
        r.p99.toFixed(1),
        r.cpuMsPerThousand.toFixed(2),
        r.kbPerStream.toFixed(1),
        base ? (r.kbPerStream / base.kbPerStream).toFixed(2) : '—',
        r.healthP99 === undefined ? '—' : `${r.healthP99.toFixed(1)} ms`,
      );
    }
  }
  if (STORM > 0) {
    console.log(`\nstorm: 1,000 connected, ${STORM.toLocaleString('en')} more connecting within one second`);
    for (const mode of SERVERS.filter((m) => m !== 'baseline')) {
      try {
        const s = await storm(mode, STORM);
        console.log(
          `  ${mode}: all configured in ${s.allConfiguredMs.toFixed(0)} ms (p99 ${s.p99ConfiguredMs.toFixed(0)}), ` +
            `peak RSS ${s.peakRssMb.toFixed(0)} MB; a change a second meanwhile, its p99 on the 1,000: ` +
            `median ${median(s.changeP99s).toFixed(0)} ms, max ${Math.max(...s.changeP99s).toFixed(0)} ms (${s.changeP99s.length} changes)`,
        );
      } catch (err) {
        console.log(`  ${mode}: failed: ${(err as Error).message}`);
      }
    }
  }
  const bytes = bytesPerPush();
  console.log(`\none-endpoint change in 10,000 endpoints, one client of every ClusterLoadAssignment:`);
  console.log(
    `  SotW ${bytes.sotw} bytes, delta ${bytes.delta} bytes: delta = ${((100 * bytes.delta) / bytes.sotw).toFixed(3)} % of SotW`,
  );
  console.log(
    '\ngoals: ≤ 12 KB per stream; p99 1,000 ≤ 100 ms, 10,000 ≤ 400 ms, 50,000 ≤ 2,000 ms; /health p99 during a push ≤ 50 ms; delta ≤ 1 % of SotW',
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
