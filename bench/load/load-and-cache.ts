// npm run bench:load — `nerve load` and the router's response cache, each part a real process: a control
// plane, a router and an engine that registers itself (`nerve engine --control-plane`).
// 1. `nerve load` throughput against the router beside h2load's (nghttp2-client) on the same target: the
//    tool must sustain at least what the router can carry.
// 2. Router CPU per cached hit beside a forwarded call (`cache-control: no-cache`), same calls (goal ≤ 1/3).
// 3. Upstream calls saved for a Zipf-distributed workload (s = 1.1 over 10,000 keys) with a cache of 1,000.
import { spawnSync } from 'node:child_process';
import { get as httpGet } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvokeRequest } from '../../gen/nerve/engine/v1/engine';
import { spawnNerve, type Spawned } from '../../test/helpers/process';
import { cpuSeconds } from '../process-stats';
import { h2loadInstalled } from '../router/h2load';

const DURATION = process.env.BENCH_DURATION ?? '5s';
const dir = mkdtempSync(join(tmpdir(), 'nerve-bench-load-'));

function config(): string {
  const path = join(dir, 'nerve.yaml');
  writeFileSync(
    path,
    [
      'engines:',
      '  - name: echo',
      '    policy:',
      '      cache:',
      '        methods: [/nerve.engine.v1.Engine/Invoke]',
      '        ttlMs: 600000',
      '        maxEntries: 1000',
      '',
    ].join('\n'),
  );
  return path;
}

async function start(): Promise<{ procs: Spawned[]; router: string; routerPid: number; metrics: string }> {
  const cp = spawnNerve([
    'control-plane',
    '--config',
    config(),
    '--xds-port',
    '0',
    '--api-port',
    '0',
    '--host',
    '127.0.0.1',
  ]);
  const xds = (await cp.waitForOutput(/xDS\/admin gRPC on (127\.0\.0\.1:\d+)/))[1];
  const engine = spawnNerve(['engine', '--name', 'echo', '--id', 'echo-1', '--control-plane', xds]);
  await engine.waitForOutput(/ready on/);
  const router = spawnNerve([
    'router',
    '--control-plane',
    xds,
    '--port',
    '0',
    '--admin-port',
    '0',
    '--host',
    '127.0.0.1',
  ]);
  const m = await router.waitForOutput(
    /gRPC ingress on (127\.0\.0\.1:\d+), admin on (http:\/\/[\d.:]+\/metrics)/,
  );
  // The router must know the engine before the load starts.
  for (let i = 0; i < 100; i++) {
    const r = spawnSync(
      process.execPath,
      [
        join(__dirname, '../../bin/nerve.js'),
        'load',
        '--target',
        m[1],
        '--engine',
        'echo',
        '--concurrency',
        '1',
        '--duration',
        '100ms',
        '--json',
      ],
      { encoding: 'utf8' },
    );
    if (r.status === 0 && (JSON.parse(r.stdout) as { ok: number }).ok > 0) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return { procs: [cp, engine, router], router: m[1], routerPid: router.child.pid!, metrics: m[2] };
}

function nerveLoad(args: string[]): {
  rps: number;
  requests: number;
  ok: number;
  latencyMs: { p50: number; p99: number };
} {
  const r = spawnSync(process.execPath, [join(__dirname, '../../bin/nerve.js'), 'load', '--json', ...args], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`nerve load failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as never;
}

function h2load(target: string, seconds: number, extraHeaders: string[] = []): number {
  const message = InvokeRequest.encode({
    operation: 'echo',
    payload: Buffer.from('ping'),
    metadata: {},
  }).finish();
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  framed.set(message, 5);
  const body = join(dir, 'invoke.bin');
  writeFileSync(body, framed);
  const args = ['-D', String(seconds), '-c', '2', '-m', '50', '-d', body];
  for (const h of ['content-type: application/grpc', 'te: trailers', 'x-nerve-engine: echo', ...extraHeaders])
    args.push('-H', h);
  args.push(`http://${target}/nerve.engine.v1.Engine/Invoke`);
  const run = spawnSync('h2load', args, { encoding: 'utf8' });
  const m = /finished in [\d.]+\w+, ([\d.]+) req\/s/.exec(run.stdout);
  if (!m) throw new Error(`h2load: ${run.stdout}${run.stderr}`);
  return Number(m[1]);
}

/** GET on a fresh connection (the router's admin port closes idle keep-alive sockets). */
function get(url: string): Promise<string> {
  return new Promise((resolve, reject) =>
    httpGet(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', reject),
  );
}

async function counter(url: string, name: string): Promise<number> {
  const text = await get(url);
  const m = new RegExp(`^${name}\\{[^}]*engine="echo"[^}]*\\} (\\d+)`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

/** A Zipf(s) sample of n draws over k keys, as a payload file. */
function zipfFile(n: number, k: number, s: number): string {
  const weights = Array.from({ length: k }, (_, i) => 1 / Math.pow(i + 1, s));
  const total = weights.reduce((a, b) => a + b, 0);
  const cdf: number[] = [];
  let acc = 0;
  for (const w of weights) cdf.push((acc += w / total));
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = rand();
    let lo = 0;
    let hi = k - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid] < r) lo = mid + 1;
      else hi = mid;
    }
    lines.push(`key-${lo}`);
  }
  const path = join(dir, 'zipf.txt');
  writeFileSync(path, lines.join('\n'));
  return path;
}

async function main(): Promise<void> {
  const { procs, router, routerPid, metrics } = await start();
  try {
    const seconds = Number(DURATION.replace('s', ''));
    // 1. Throughput, forwarded calls (no-cache), closed loop with plenty in flight.
    const ours = nerveLoad([
      '--target',
      router,
      '--engine',
      'echo',
      '--concurrency',
      '100',
      '--connections',
      '2',
      '--duration',
      DURATION,
      '--metadata',
      'cache-control=no-cache',
    ]);
    const theirs = h2loadInstalled() ? h2load(router, seconds, ['cache-control: no-cache']) : NaN;
    // The router alone (every call a cache hit: no engine behind it): its own ceiling, and the tool's.
    const oursHits = nerveLoad([
      '--target',
      router,
      '--engine',
      'echo',
      '--concurrency',
      '100',
      '--connections',
      '2',
      '--duration',
      DURATION,
    ]);
    const theirsHits = h2loadInstalled() ? h2load(router, seconds) : NaN;

    // 2. Router CPU per call: forwarded vs cached hit, the same calls, evenly spaced at half the router's
    // capacity (each call its own reads and writes) and then saturated (100 in flight: reads and writes
    // carry many calls each).
    const rate = String(Math.floor(ours.rps * 0.5));
    const perCall = (args: string[]) => {
      const c0 = cpuSeconds(routerPid);
      const r = nerveLoad(['--target', router, '--engine', 'echo', '--duration', DURATION, ...args]);
      return ((cpuSeconds(routerPid) - c0) / r.ok) * 1e6;
    };
    const noCache = ['--metadata', 'cache-control=no-cache'];
    const spacedFwd = perCall(['--rps', rate, ...noCache]);
    const spacedHit = perCall(['--rps', rate]);
    const busyFwd = perCall(['--concurrency', '100', '--connections', '2', ...noCache]);
    const busyHit = perCall(['--concurrency', '100', '--connections', '2']);

    // 3. Zipf workload: upstream calls saved.
    const hits0 = await counter(metrics, 'nerve_router_cache_hits_total');
    const miss0 = await counter(metrics, 'nerve_router_cache_misses_total');
    const co0 = await counter(metrics, 'nerve_router_cache_coalesced_total');
    const file = zipfFile(20_000, 10_000, 1.1);
    const z = nerveLoad([
      '--target',
      router,
      '--engine',
      'echo',
      '--rps',
      '2000',
      '--duration',
      '10s',
      '--payload-file',
      file,
    ]);
    const hits = (await counter(metrics, 'nerve_router_cache_hits_total')) - hits0;
    const misses = (await counter(metrics, 'nerve_router_cache_misses_total')) - miss0;
    const coalesced = (await counter(metrics, 'nerve_router_cache_coalesced_total')) - co0;

    console.log(`bench:load: control plane, router and engine as processes; ${DURATION} runs`);
    console.log(
      `  forwarded calls through the router, closed loop: nerve load ${ours.rps} calls/s (100 in flight, 2 connections), p50 ${ours.latencyMs.p50} ms`,
    );
    console.log(
      `    baseline, h2load on the same target (-c 2 -m 50): ${Number.isNaN(theirs) ? 'not installed' : `${theirs} calls/s (nerve load ×${(ours.rps / theirs).toFixed(2)})`}`,
    );
    console.log(
      `  the router alone (cache hits), closed loop: nerve load ${oursHits.rps} calls/s; h2load ${theirsHits} calls/s (nerve load ×${(oursHits.rps / theirsHits).toFixed(2)})`,
    );
    console.log(`  router CPU per call (user + system), cached hit vs forwarded (goal ≤ 0.33):`);
    console.log(
      `    saturated, 100 in flight: ${busyHit.toFixed(1)} µs vs ${busyFwd.toFixed(1)} µs (×${(busyHit / busyFwd).toFixed(2)})`,
    );
    console.log(
      `    evenly spaced at ${rate} calls/s: ${spacedHit.toFixed(1)} µs vs ${spacedFwd.toFixed(1)} µs (×${(spacedHit / spacedFwd).toFixed(2)})`,
    );
    console.log(
      `  Zipf(1.1) over 10,000 keys, ${z.requests} calls, cache of 1,000 entries: ${hits} hits + ${coalesced} coalesced, ${misses} upstream calls: ${(((hits + coalesced) / Math.max(1, z.requests)) * 100).toFixed(1)} % saved`,
    );
    console.log(
      `  router RSS: ${(Number(readFileSync(`/proc/${routerPid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)![1]) / 1024).toFixed(0)} MB`,
    );
  } finally {
    for (const p of procs.reverse()) p.child.kill('SIGTERM');
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
