/**
 * npm run bench:operations — the deployment figures, each beside a baseline measured in the same run:
 * 1. Start to first routed call: a control plane, a self-registering engine and a router started at
 *    once (as `docker compose up` starts them) until a call through the router answers; baseline: one
 *    engine process started alone until a direct call answers. BENCH_ROUNDS rounds (default 5), medians.
 * 2. Log volume per 1,000 calls at info, through `nerve demo`: calls without a traceparent, with an
 *    unsampled one, and all sampled; baseline: the same time with no calls (periodic lines).
 * 3. The runtime image's own layer: production node_modules, dist/, proto/ and bin/ as the Dockerfile's
 *    second stage copies them (the base image, node:20-bookworm-slim, cannot be pulled here).
 * Plus the RSS and CPU of the processes of figure 1 after their first call.
 */
import * as grpc from '@grpc/grpc-js';
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { cpSync, mkdtempSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { cpuSeconds, rssMb } from '../process-stats';

const ROOT = join(__dirname, '..', '..');
const NERVE = join(ROOT, 'bin', 'nerve.js');
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function nerve(args: string[], env: NodeJS.ProcessEnv = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [NERVE, ...args], { env: { ...process.env, LOG_LEVEL: 'warn', ...env } });
}

function call(
  port: number,
  engine: string | undefined,
  metadata: Record<string, string> = {},
): Promise<boolean> {
  const client = new EngineClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  if (engine) md.set('x-nerve-engine', engine);
  for (const [k, v] of Object.entries(metadata)) md.set(k, v);
  return new Promise((resolve) =>
    client.invoke(
      { operation: 'echo', payload: Buffer.from('x'), metadata: {} },
      md,
      { deadline: Date.now() + 2_000 },
      (err) => {
        client.close();
        resolve(!err);
      },
    ),
  );
}

/** Calls until one answers; the milliseconds since `t0`. */
async function firstAnswer(t0: number, port: number, engine: string | undefined): Promise<number> {
  for (;;) {
    if (await call(port, engine)) return performance.now() - t0;
    if (performance.now() - t0 > 30_000) throw new Error('no answer within 30 s');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function startToRoutedCall(): Promise<{
  fleet: number[];
  engine: number[];
  rss: Record<string, number>;
  cpu: Record<string, number>;
}> {
  const fleet: number[] = [];
  const engine: number[] = [];
  let rss: Record<string, number> = {};
  let cpu: Record<string, number> = {};
  for (let round = 0; round < ROUNDS; round++) {
    const [api, xds, routerPort, admin, enginePort, alone] = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(freePort),
    );
    let t0 = performance.now();
    const single = nerve(['engine', '--type', 'math', '--port', String(alone)]);
    engine.push(await firstAnswer(t0, alone, undefined));
    single.kill('SIGKILL');

    t0 = performance.now();
    const cp = nerve([
      'control-plane',
      '--host',
      '127.0.0.1',
      '--api-port',
      String(api),
      '--xds-port',
      String(xds),
    ]);
    const eng = nerve([
      'engine',
      '--type',
      'math',
      '--port',
      String(enginePort),
      '--control-plane',
      `127.0.0.1:${xds}`,
    ]);
    const router = nerve([
      'router',
      '--host',
      '127.0.0.1',
      '--port',
      String(routerPort),
      '--admin-port',
      String(admin),
      '--control-plane',
      `127.0.0.1:${xds}`,
    ]);
    try {
      fleet.push(await firstAnswer(t0, routerPort, 'math'));
      rss = { controlPlane: rssMb(cp.pid!), router: rssMb(router.pid!), engine: rssMb(eng.pid!) };
      cpu = {
        controlPlane: cpuSeconds(cp.pid!),
        router: cpuSeconds(router.pid!),
        engine: cpuSeconds(eng.pid!),
      };
    } finally {
      for (const p of [cp, eng, router]) p.kill('SIGKILL');
    }
  }
  return { fleet, engine, rss, cpu };
}

async function logVolume(): Promise<Record<string, { bytes: number; lines: number }>> {
  const [api, xds, routerPort, admin] = await Promise.all([1, 2, 3, 4].map(freePort));
  const demo = nerve(
    [
      'demo',
      '--engines',
      '1',
      '--instances',
      '2',
      '--api-port',
      String(api),
      '--xds-port',
      String(xds),
      '--router-port',
      String(routerPort),
      '--router-admin-port',
      String(admin),
    ],
    { LOG_LEVEL: 'info' },
  );
  let bytes = 0;
  let lines = 0;
  demo.stderr.on('data', (d: Buffer) => {
    bytes += d.length;
    lines += d.toString().split('\n').length - 1;
  });
  await new Promise<void>((resolve) =>
    demo.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve()),
  );
  await firstAnswer(performance.now(), routerPort, 'echo');
  const out: Record<string, { bytes: number; lines: number }> = {};
  const measure = async (name: string, run: () => Promise<unknown>) => {
    await new Promise((r) => setTimeout(r, 1_000)); // the previous case's reports logged
    const b = bytes;
    const l = lines;
    const t0 = performance.now();
    await run();
    // Traced calls reach the control plane's log with the next report (every 2 s).
    await new Promise((r) => setTimeout(r, Math.max(0, 2_500 - (performance.now() - t0))));
    out[name] = { bytes: bytes - b, lines: lines - l };
  };
  const thousand = (metadata: () => Record<string, string>) => async () => {
    for (let i = 0; i < 1000; i += 50)
      await Promise.all(Array.from({ length: 50 }, () => call(routerPort, 'echo', metadata())));
  };
  const trace = () => Math.random().toString(16).slice(2).padEnd(16, '0').slice(0, 16);
  await measure('no calls (baseline, same duration)', () => new Promise((r) => setTimeout(r, 1_000)));
  await measure(
    '1,000 calls, no traceparent',
    thousand(() => ({})),
  );
  await measure(
    '1,000 calls, unsampled traceparent',
    thousand(() => ({ traceparent: `00-${trace()}${trace()}-${trace()}-00` })),
  );
  await measure(
    '1,000 calls, all sampled',
    thousand(() => ({ traceparent: `00-${trace()}${trace()}-${trace()}-01` })),
  );
  demo.kill('SIGKILL');
  return out;
}

function imageLayerMb(): { nodeModules: number; rest: number } {
  const dir = mkdtempSync(join(tmpdir(), 'nerve-image-'));
  cpSync(join(ROOT, 'package.json'), join(dir, 'package.json'));
  cpSync(join(ROOT, 'package-lock.json'), join(dir, 'package-lock.json'));
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'], {
    cwd: dir,
    stdio: 'ignore',
  });
  const du = (path: string) =>
    Number(execFileSync('du', ['-sk', path], { encoding: 'utf8' }).split('\t')[0]) / 1024;
  return {
    nodeModules: du(join(dir, 'node_modules')),
    rest: du(join(ROOT, 'dist')) + du(join(ROOT, 'proto')) + du(join(ROOT, 'bin')),
  };
}

async function main(): Promise<void> {
  const start = await startToRoutedCall();
  console.log(`start to first answered call, median of ${ROUNDS} rounds:`);
  console.log(`  engine alone, direct call (baseline)        ${median(start.engine).toFixed(0)} ms`);
  console.log(
    `  control plane + registering engine + router ${median(start.fleet).toFixed(0)} ms  (×${(median(start.fleet) / median(start.engine)).toFixed(2)})`,
  );
  console.log(
    `  after the first call: RSS MB ${JSON.stringify(Object.fromEntries(Object.entries(start.rss).map(([k, v]) => [k, Math.round(v)])))}, CPU s ${JSON.stringify(start.cpu)}`,
  );
  const logs = await logVolume();
  console.log('log volume at info (nerve demo: control plane, router, engines):');
  for (const [name, v] of Object.entries(logs))
    console.log(
      `  ${name.padEnd(38)} ${String(v.bytes).padStart(8)} bytes ${String(v.lines).padStart(6)} lines`,
    );
  const layer = imageLayerMb();
  console.log(
    `runtime image layer (on node:20-bookworm-slim): production node_modules ${layer.nodeModules.toFixed(1)} MB + dist, proto, bin ${layer.rest.toFixed(1)} MB = ${(layer.nodeModules + layer.rest).toFixed(1)} MB`,
  );
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
