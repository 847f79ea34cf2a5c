import { spawn } from 'node:child_process';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { startFleet, startNerve } from './processes';
import { cpuSeconds, rssMb } from '../process-stats';

/**
 * The router under HTTP/2 floods (`npm run bench:router-floods`). For each flood, in one run: a
 * legitimate caller's latency without attack (the baseline, measured just before), then the same caller
 * while attackers (a process of their own, bench/router/flood-attacker.ts) flood the same router; the
 * bytes each attacking connection sent before the router closed it, the router's RSS growth over its
 * RSS before the attack and its CPU, and the legitimate caller's errors and p99 beside the baseline's.
 * Timeouts are shortened (idle 4 s, headers 2 s) so that the idle and slowloris floods end in the window.
 *
 * BENCH_SECONDS (attack window, 8), BENCH_RATE (legitimate calls per second, 200), BENCH_FLOODS (names).
 */

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const FLOODS: { name: string; label: string; connections: number }[] = [
  { name: 'continuation-empty', label: 'CONTINUATION, empty', connections: 50 },
  { name: 'continuation-1-byte', label: 'CONTINUATION, 1 byte each', connections: 50 },
  { name: 'hpack-bomb', label: 'HPACK bomb (60 MB list)', connections: 50 },
  { name: 'settings', label: 'SETTINGS, never read', connections: 50 },
  { name: 'ping', label: 'PING, never read', connections: 50 },
  { name: 'rst', label: 'rapid reset', connections: 50 },
  { name: 'empty-data', label: 'empty DATA', connections: 50 },
  { name: 'idle', label: 'idle connections', connections: 1_000 },
  { name: 'slowloris', label: 'slowloris (1 byte / 0.5 s)', connections: 50 },
].filter((f) => !process.env.BENCH_FLOODS || process.env.BENCH_FLOODS.split(',').includes(f.name));

interface Calls {
  latencies: number[];
  errors: Map<string, number>;
}

/** Echo calls at RATE per second, evenly spaced, for `ms`; latency of each, errors by code. */
async function legitimate(client: EngineClient, ms: number): Promise<Calls> {
  const md = new grpc.Metadata();
  md.set('x-nerve-engine', 'echo');
  const out: Calls = { latencies: [], errors: new Map() };
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < ms) {
    const due = Math.floor(((performance.now() - start) * RATE) / 1000) + 1;
    for (; sent < due; sent++) {
      const t = performance.now();
      pending.push(
        new Promise<void>((resolve) =>
          client.invoke(
            { operation: 'echo', payload: Buffer.from('ping'), metadata: {} },
            md,
            { deadline: Date.now() + 5_000 },
            (err) => {
              if (err)
                out.errors.set(grpc.status[err.code], (out.errors.get(grpc.status[err.code]) ?? 0) + 1);
              else out.latencies.push(performance.now() - t);
              resolve();
            },
          ),
        ),
      );
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(pending);
  return out;
}

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const median = (xs: number[]) => percentile(xs, 50);

function runAttacker(
  flood: string,
  port: string,
  connections: number,
): Promise<{ bytes: number; closed: boolean }[]> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(__dirname, 'flood-attacker.ts'),
      flood,
      port,
      String(connections),
      String(SECONDS),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) =>
    child.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`attacker ${flood} exited ${code}`)),
    ),
  );
}

async function main(): Promise<void> {
  const fleet = await startFleet();
  const router = await startNerve(
    [
      'router',
      '--control-plane',
      fleet.xds,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--admin-port',
      '0',
      '--id',
      'floods',
      '--h2-idle-timeout-ms',
      '4000',
      '--h2-headers-timeout-ms',
      '2000',
    ],
    /ingress on 127\.0\.0\.1:(\d+), admin on http:\/\/127\.0\.0\.1:(\d+)/,
  );
  const [, port, adminPort] = router.match;
  const pid = router.child.pid!;
  const client = new EngineClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    await legitimate(client, 2_000); // warm-up
    const rows: string[][] = [];
    for (const f of FLOODS) {
      const base = await legitimate(client, 3_000);
      const rssBefore = rssMb(pid);
      const cpuBefore = cpuSeconds(pid);
      let peak = rssBefore;
      const sampler = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 100);
      const started = performance.now();
      const [results, during] = await Promise.all([
        runAttacker(f.name, port, f.connections),
        legitimate(client, SECONDS * 1000),
      ]);
      clearInterval(sampler);
      const cpu = (cpuSeconds(pid) - cpuBefore) / ((performance.now() - started) / 1000);
      const closed = results.filter((r) => r.closed);
      const errors = [...during.errors].map(([code, n]) => `${code} ${n}`).join(', ') || '0';
      rows.push([
        f.label,
        String(f.connections),
        `${closed.length}/${results.length}`,
        closed.length > 0
          ? fmtBytes(median(closed.map((r) => r.bytes)))
          : `${fmtBytes(median(results.map((r) => r.bytes)))} (open)`,
        (peak - rssBefore).toFixed(1),
        `${Math.round(cpu * 100)} %`,
        String(during.latencies.length + [...during.errors.values()].reduce((a, b) => a + b, 0)),
        errors,
        percentile(during.latencies, 99).toFixed(2),
        percentile(base.latencies, 99).toFixed(2),
        (percentile(during.latencies, 99) / percentile(base.latencies, 99)).toFixed(2),
      ]);
      await new Promise((r) => setTimeout(r, 1_000)); // the router settles before the next flood
    }
    print(
      [
        'flood',
        'conns',
        'closed',
        'bytes sent before close (median)',
        'RSS +MB',
        'router CPU',
        'legit calls',
        'legit errors',
        'p99 ms under attack',
        'p99 ms before',
        'ratio',
      ],
      rows,
    );
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`)).text();
    console.log('\nviolations counted by the router (nerve_router_connection_violations_total, downstream):');
    for (const m of metrics.matchAll(
      /nerve_router_connection_violations_total\{side="downstream",reason="([^"]+)"[^}]*\} (\d+)/g,
    ))
      console.log(`  ${m[1].padEnd(26)} ${m[2]}`);
    for (const m of metrics.matchAll(
      /nerve_router_connection_drains_total\{side="downstream",reason="([^"]+)"[^}]*\} (\d+)/g,
    ))
      console.log(`  drained: ${m[1].padEnd(17)} ${m[2]}`);
    console.log(
      `\nrouter RSS at the end: ${rssMb(pid).toFixed(1)} MB; legitimate calls at ${RATE}/s, attack window ${SECONDS} s`,
    );
  } finally {
    client.close();
    for (const p of [router, fleet.cp, fleet.engine]) p.child.kill('SIGKILL');
  }
}

function fmtBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} kB`;
  return `${Math.round(n)} B`;
}

function print(head: string[], rows: string[][]): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  console.log(line(head));
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
  for (const r of rows) console.log(line(r));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
