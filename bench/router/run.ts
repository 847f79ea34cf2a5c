/**
 * npm run bench:router — the router's cost, in one run: the same client calls the same echo engine
 * directly (baseline) and through the router, at a fixed 1,000 rps and at maximum throughput.
 * Every part is the real command from dist/ in its own process (`nerve engine`, `nerve control-plane`,
 * `nerve router`). Reports latency p50/p99, throughput ratio, router CPU µs per request (utime + stime of
 * the router process from /proc, and its user-mode part) and router RSS. Medians of BENCH_ROUNDS (default 3).
 * Calls at 1,000 rps are open loop and evenly spaced (one per ms, as many independent callers make
 * them); a second measurement sends them in bursts of ten every 10 ms, which lets the router coalesce
 * writes (less CPU per call) but queues each burst behind itself (more latency).
 * Env: BENCH_SECONDS (default 4) per measurement.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { h2loadInstalled, h2loadLatency } from './h2load';
import { haproxyInstalled, startHaproxy } from './haproxy';
import { startFleet, startRouter, startScript } from './processes';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
/** Evenly spaced calls (1 ms apart at 1,000 rps), the shape of many independent callers. */
const EVEN_MS = 1;
/** Bursts: the calls of 10 ms leave together. */
const BURST_MS = 10;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const quantile = (sorted: number[], q: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];

function call(client: EngineClient, md: grpc.Metadata): Promise<number> {
  const t = performance.now();
  return new Promise((resolve, reject) =>
    client.invoke({ operation: 'echo', payload: Buffer.from('ping'), metadata: {} }, md, (err) =>
      err ? reject(err) : resolve(performance.now() - t),
    ),
  );
}

/**
 * Calls at a fixed rate for SECONDS, open loop (a call leaves at its time whether or not earlier ones
 * have answered, as wrk2, fortio and h2load --rps do); returns latencies. The calls due leave every
 * `tickMs`: 1 spaces them evenly (1,000 rps = one per ms), 10 sends them in bursts of ten.
 */
async function fixedRate(
  client: EngineClient,
  md: grpc.Metadata,
  rps: number,
  tickMs: number,
): Promise<number[]> {
  const latencies: number[] = [];
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  while (performance.now() - start < SECONDS * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rps);
    for (; sent < due; sent++) pending.push(call(client, md).then((l) => void latencies.push(l)));
    await new Promise((r) => setTimeout(r, tickMs));
  }
  await Promise.all(pending);
  return latencies.sort((a, b) => a - b);
}

/**
 * Direct and routed calls side by side, each at `rps`, in the same ticks: both see the same moment of a
 * shared machine, so their difference is the router's and not the noise between two windows.
 */
async function pairedRate(
  direct: EngineClient,
  routed: EngineClient,
  md: grpc.Metadata,
  rps: number,
): Promise<{ direct: number[]; routed: number[] }> {
  const out = { direct: [] as number[], routed: [] as number[] };
  const pending: Promise<void>[] = [];
  const start = performance.now();
  const none = new grpc.Metadata();
  let sent = 0;
  while (performance.now() - start < SECONDS * 1000) {
    const due = Math.floor(((performance.now() - start) / 1000) * rps);
    for (; sent < due; sent++) {
      // Alternate which goes first, so neither always waits behind the other.
      const d = () => call(direct, none).then((l) => void out.direct.push(l));
      const v = () => call(routed, md).then((l) => void out.routed.push(l));
      if (sent % 2 === 0) pending.push(d(), v());
      else pending.push(v(), d());
    }
    await new Promise((r) => setTimeout(r, EVEN_MS));
  }
  await Promise.all(pending);
  out.direct.sort((a, b) => a - b);
  out.routed.sort((a, b) => a - b);
  return out;
}

/** As many calls as `concurrency` loops can make in SECONDS; returns calls per second. */
async function maxThroughput(client: EngineClient, md: grpc.Metadata, concurrency: number): Promise<number> {
  let done = 0;
  const end = performance.now() + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await call(client, md);
        done++;
      }
    }),
  );
  return done / SECONDS;
}

/** V8 young generation capped at 2 MB per semi-space: less memory, a little more GC work. */
const TUNED_FLAGS = (process.env.BENCH_TUNED_FLAGS ?? '--max-semi-space-size=2').split(' ');
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** CPU seconds (user + system, and user alone) and RSS in MB of a process, from /proc. */
function procStats(pid: number): { cpuSeconds: number; userSeconds: number; rssMb: number } {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const userSeconds = Number(fields[11]) / TICKS_PER_SECOND;
  const cpuSeconds = userSeconds + Number(fields[12]) / TICKS_PER_SECOND;
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  return { cpuSeconds, userSeconds, rssMb: rssKb / 1024 };
}

/**
 * Calls through `client` at 1,000 rps (`tickMs` apart): latency quantiles, and the CPU per call (all,
 * and user mode alone) and RSS of process `pid`.
 */
async function atFixedRate(
  pid: number,
  client: EngineClient,
  md: grpc.Metadata,
  tickMs = EVEN_MS,
): Promise<{ p50: number; p99: number; cpuUs: number; userUs: number; rssMb: number }> {
  const before = procStats(pid);
  const latencies = await fixedRate(client, md, 1000, tickMs);
  const after = procStats(pid);
  return {
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    cpuUs: ((after.cpuSeconds - before.cpuSeconds) * 1e6) / latencies.length,
    userUs: ((after.userSeconds - before.userSeconds) * 1e6) / latencies.length,
    rssMb: after.rssMb,
  };
}

async function main(): Promise<void> {
  console.log(
    `bench:router on ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; ${SECONDS} s per measurement, medians of ${ROUNDS}`,
  );
  console.log('(client, router, control plane and engine share this machine: compare rows of one run)\n');
  const { engine, cp, engineAddress, xds } = await startFleet();
  const startRouterNamed = (id: string, nodeFlags: string[] = []) => startRouter(xds, id, nodeFlags);
  const router = await startRouterNamed('bench');
  const tuned = await startRouterNamed('bench-tuned', TUNED_FLAGS);
  const bare = await startScript('bare-proxy.mjs', engineAddress);
  const relay = await startScript('byte-relay.mjs', engineAddress);
  const relayClient = new EngineClient(`127.0.0.1:${relay.match[1]}`, grpc.credentials.createInsecure());
  const haproxy = haproxyInstalled() ? await startHaproxy(engineAddress) : undefined;
  const haproxyClient =
    haproxy && new EngineClient(`127.0.0.1:${haproxy.port}`, grpc.credentials.createInsecure());
  const routerPid = router.child.pid!;
  const barePid = bare.child.pid!;
  const direct = new EngineClient(engineAddress, grpc.credentials.createInsecure());
  const bareClient = new EngineClient(`127.0.0.1:${bare.match[1]}`, grpc.credentials.createInsecure());
  const routed = new EngineClient(`127.0.0.1:${router.match[1]}`, grpc.credentials.createInsecure());
  const tunedClient = new EngineClient(`127.0.0.1:${tuned.match[1]}`, grpc.credentials.createInsecure());
  const none = new grpc.Metadata();
  const viaRouter = new grpc.Metadata();
  viaRouter.set('x-nerve-engine', 'echo');
  try {
    // Warm up, and wait until the router has its routes (it answers NOT_FOUND until the first push).
    for (let i = 0; i < 200; i++) {
      await call(direct, none);
      await call(routed, viaRouter).catch(() => new Promise((r) => setTimeout(r, 20)));
      await call(bareClient, none);
      await call(tunedClient, viaRouter).catch(() => new Promise((r) => setTimeout(r, 20)));
      await call(relayClient, none);
      if (haproxyClient) await call(haproxyClient, none);
    }
    const r: Record<string, number[]> = {
      dp50: [],
      hd50: [],
      hr50: [],
      hh50: [],
      pairedAdded: [],
      pairedAdded99: [],
      dp99: [],
      rp50: [],
      rp99: [],
      dmax: [],
      rmax: [],
      cpuUs: [],
      userUs: [],
      rss: [],
      burstDirect50: [],
      burstRouted50: [],
      burstCpuUs: [],
      bp50: [],
      bp99: [],
      bmax: [],
      bareCpuUs: [],
      bareRss: [],
      tp50: [],
      tunedCpuUs: [],
      tunedRss: [],
      relayCpuUs: [],
      relayUserUs: [],
      hap50: [],
      hapCpuUs: [],
      hapUserUs: [],
      hapRss: [],
    };
    const h2load = h2loadInstalled();
    for (let round = 0; round < ROUNDS; round++) {
      if (h2load) {
        // Direct, routed and through HAProxy in turns, the order reversed every other round.
        const all = [
          () => r.hd50.push(h2loadLatency(engineAddress, 4000, 1000, []).p50),
          () =>
            r.hr50.push(
              h2loadLatency(`127.0.0.1:${router.match[1]}`, 4000, 1000, ['x-nerve-engine: echo']).p50,
            ),
        ];
        if (haproxy)
          all.push(() => r.hh50.push(h2loadLatency(`127.0.0.1:${haproxy.port}`, 4000, 1000, []).p50));
        for (const measure of round % 2 === 0 ? all : all.reverse()) measure();
      }
      const paired = await pairedRate(direct, routed, viaRouter, 1000);
      r.pairedAdded.push(quantile(paired.routed, 0.5) - quantile(paired.direct, 0.5));
      r.pairedAdded99.push(quantile(paired.routed, 0.99) - quantile(paired.direct, 0.99));
      const d = await fixedRate(direct, none, 1000, EVEN_MS);
      r.dp50.push(quantile(d, 0.5));
      r.dp99.push(quantile(d, 0.99));
      // The two routers take turns going first: the second of a pair has measured slower here.
      const pair = [
        async () => {
          const v = await atFixedRate(routerPid, routed, viaRouter);
          r.rp50.push(v.p50);
          r.rp99.push(v.p99);
          r.cpuUs.push(v.cpuUs);
          r.userUs.push(v.userUs);
          r.rss.push(v.rssMb);
        },
        async () => {
          const t = await atFixedRate(tuned.child.pid!, tunedClient, viaRouter);
          r.tp50.push(t.p50);
          r.tunedCpuUs.push(t.cpuUs);
          r.tunedRss.push(t.rssMb);
        },
      ];
      for (const measure of round % 2 === 0 ? pair : pair.reverse()) await measure();
      r.burstDirect50.push(quantile(await fixedRate(direct, none, 1000, BURST_MS), 0.5));
      const burst = await atFixedRate(routerPid, routed, viaRouter, BURST_MS);
      r.burstRouted50.push(burst.p50);
      r.burstCpuUs.push(burst.cpuUs);
      const b = await atFixedRate(barePid, bareClient, none);
      r.bp50.push(b.p50);
      r.bp99.push(b.p99);
      r.bareCpuUs.push(b.cpuUs);
      r.bareRss.push(b.rssMb);
      const floor = await atFixedRate(relay.child.pid!, relayClient, none);
      r.relayCpuUs.push(floor.cpuUs);
      r.relayUserUs.push(floor.userUs);
      if (haproxy && haproxyClient) {
        const h = await atFixedRate(haproxy.child.pid!, haproxyClient, none);
        r.hap50.push(h.p50);
        r.hapCpuUs.push(h.cpuUs);
        r.hapUserUs.push(h.userUs);
        r.hapRss.push(h.rssMb);
      }
      r.dmax.push(await maxThroughput(direct, none, 64));
      r.rmax.push(await maxThroughput(routed, viaRouter, 64));
      r.bmax.push(await maxThroughput(bareClient, none, 64));
    }
    const m = Object.fromEntries(Object.entries(r).map(([k, xs]) => [k, median(xs)]));
    console.log('at 1,000 rps, calls evenly spaced (one per ms), open loop');
    console.log('                        p50 ms    p99 ms');
    console.log(`  direct (baseline)   ${m.dp50.toFixed(3).padStart(8)}  ${m.dp99.toFixed(3).padStart(8)}`);
    console.log(`  through the router  ${m.rp50.toFixed(3).padStart(8)}  ${m.rp99.toFixed(3).padStart(8)}`);
    // Direct and routed run in separate windows here: their p99s are the machine's stalls in each window, and
    // their difference can come out negative; the side-by-side measure below compares tails fairly.
    console.log(
      `  added               ${(m.rp50 - m.dp50).toFixed(3).padStart(8)}  ${(m.rp99 - m.dp99).toFixed(3).padStart(8)}` +
        (m.rp99 < m.dp99 ? '  (p99s of separate windows: noise; see side by side)' : ''),
    );
    console.log(
      `  added, measured side by side with direct calls in the same ticks: p50 ${m.pairedAdded.toFixed(3)} ms, p99 ${m.pairedAdded99.toFixed(3)} ms`,
    );
    console.log(
      h2load
        ? `  with h2load (a C client; its --rps sends bursts of ten every 10 ms): direct p50 ${m.hd50.toFixed(3)} ms, through the router ${m.hr50.toFixed(3)} ms, added ${(m.hr50 - m.hd50).toFixed(3)} ms` +
            (haproxy
              ? `; through HAProxy ${m.hh50.toFixed(3)} ms, added ${(m.hh50 - m.hd50).toFixed(3)} ms`
              : '')
        : '  (h2load not installed — Debian package nghttp2-client — so no measurement with a light client)',
    );
    console.log(`  bare node:http2 proxy ${m.bp50.toFixed(3).padStart(6)}  ${m.bp99.toFixed(3).padStart(8)}`);
    console.log(
      `router CPU per request at 1,000 rps: ${m.cpuUs.toFixed(0)} µs (${m.userUs.toFixed(0)} in user mode, the rest in the kernel); router process RSS: ${m.rss.toFixed(0)} MB`,
    );
    console.log(
      `at 1,000 rps in bursts of ten every 10 ms: direct p50 ${m.burstDirect50.toFixed(3)} ms, through the router ${m.burstRouted50.toFixed(3)} ms, added ${(m.burstRouted50 - m.burstDirect50).toFixed(3)} ms; router CPU per request ${m.burstCpuUs.toFixed(0)} µs`,
    );
    console.log(
      `router with ${TUNED_FLAGS.join(' ')}: ${m.tunedCpuUs.toFixed(0)} µs per request, RSS ${m.tunedRss.toFixed(0)} MB, p50 ${m.tp50.toFixed(3)} ms`,
    );
    console.log(
      `bare node:http2 pass-through proxy (the router's previous forwarding layer, without its features): ${m.bareCpuUs.toFixed(0)} µs per request, RSS ${m.bareRss.toFixed(0)} MB; Nerve router = ×${(m.cpuUs / m.bareCpuUs).toFixed(2)} its CPU`,
    );
    console.log(
      `byte relay (Node, the floor of a proxy process: onread, no HTTP/2; evenly spaced calls): ${m.relayCpuUs.toFixed(0)} µs per request (${m.relayUserUs.toFixed(0)} in user mode); Nerve router = ×${(m.cpuUs / m.relayCpuUs).toFixed(2)} its CPU, ${(m.userUs - m.relayUserUs).toFixed(0)} µs more in user mode`,
    );
    console.log(
      haproxy
        ? `HAProxy (C, HTTP/2 both sides, one thread; evenly spaced calls): ${m.hapCpuUs.toFixed(0)} µs per request (${m.hapUserUs.toFixed(0)} in user mode), RSS ${m.hapRss.toFixed(0)} MB, p50 ${m.hap50.toFixed(3)} ms; Nerve router = ×${(m.cpuUs / m.hapCpuUs).toFixed(2)} its CPU`
        : '(haproxy not installed — Debian package haproxy — so no reference proxy in C)',
    );
    console.log(
      `max throughput (64 concurrent): direct ${m.dmax.toFixed(0)}/s, through the router ${m.rmax.toFixed(0)}/s = ${((100 * m.rmax) / m.dmax).toFixed(0)} % of direct; bare proxy ${m.bmax.toFixed(0)}/s = ${((100 * m.bmax) / m.dmax).toFixed(0)} %`,
    );
    console.log(
      '\ngoals: ≤ 100 µs router CPU per request; added p50 ≤ 0.3 ms at 1,000 rps; ≥ 60 % of direct throughput; RSS ≤ 80 MB',
    );
  } finally {
    direct.close();
    routed.close();
    bareClient.close();
    tunedClient.close();
    haproxyClient?.close();
    relayClient.close();
    relay.child.kill('SIGKILL');
    haproxy?.child.kill('SIGKILL');
    for (const p of [router, tuned, cp, engine, bare]) p.child.kill('SIGKILL');
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
