/**
 * npm run bench:router-syscalls — the system calls a routed call costs, counted by strace: the kernel's
 * share of a call's CPU (reads, writes, event-loop wakeups on loopback TCP) follows these counts, and
 * a timer firing per call or a write split in two shows here first. In one run, the same client calls the
 * same echo engine at BENCH_RATE calls/s evenly spaced (default 500: each call alone) through the Nerve
 * router, the Node byte relay (the floor of a Node proxy process) and, when installed, HAProxy; each is
 * warmed up, then traced over BENCH_CALLS calls (default 2,000). Needs strace (Debian package strace).
 * Reads and writes per call repeat from run to run. Epoll waits depend on timing as well: Node polls
 * twice per wakeup (libuv first polls without waiting, to measure idle time), and that first poll picks up
 * an event that arrived meanwhile without a second; they move by ±0.5 per call between runs.
 */
import * as grpc from '@grpc/grpc-js';
import { spawn, spawnSync } from 'node:child_process';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { benchWithLineup } from './processes';
import { echoCall, evenlySpaced } from './spaced-calls';

const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const WARM_CALLS = 3000;

/** System calls per call of process `pid` (all its threads), by name, over CALLS evenly spaced calls. */
async function traced(pid: number, client: EngineClient, md: grpc.Metadata): Promise<Map<string, number>> {
  for (let i = 0; i < WARM_CALLS; i++) await echoCall(client, md);
  const strace = spawn('strace', ['-c', '-f', '-p', String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  strace.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const attached = Date.now() + 10_000;
  while (!out.includes('attached') && Date.now() < attached) await new Promise((r) => setTimeout(r, 10));
  await evenlySpaced(client, md, CALLS, RATE);
  strace.kill('SIGINT');
  await new Promise((r) => strace.once('exit', r));
  // strace -c rows: % time, seconds, usecs/call, calls, [errors], syscall
  const perCall = new Map<string, number>();
  for (const line of out.split('\n')) {
    const m = /^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$/.exec(line);
    if (m && m[2] !== 'total') perCall.set(m[2], Number(m[1]) / CALLS);
  }
  return perCall;
}

const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);

function main(): void {
  if (spawnSync('strace', ['-V']).status !== 0) {
    console.log('strace is not installed (Debian package strace): nothing to count with');
    return;
  }
  console.log(
    `bench:router-syscalls: ${CALLS} calls at ${RATE}/s evenly spaced, traced by strace after ${WARM_CALLS} warm-up calls; system calls per call`,
  );
  benchWithLineup([], async ({ router, relay, haproxy }, clients) => {
    const { viaRouter, none } = clients;
    const client = (port: string | number) => clients.to(port);
    const rows: [string, Map<string, number>][] = [
      ['Nerve router', await traced(router.child.pid!, client(router.match[1]), viaRouter)],
      ['byte relay (Node)', await traced(relay.child.pid!, client(relay.match[1]), none)],
    ];
    if (haproxy) rows.push(['HAProxy (C)', await traced(haproxy.child.pid!, client(haproxy.port), none)]);
    const names = [...new Set(rows.flatMap(([, m]) => [...m.keys()]))]
      .filter((n) => rows.some(([, m]) => (m.get(n) ?? 0) >= 0.01))
      .sort((a, b) => (rows[0][1].get(b) ?? 0) - (rows[0][1].get(a) ?? 0));
    console.log(`  ${''.padEnd(16)}${rows.map(([name]) => name.padStart(20)).join('')}`);
    for (const n of [...names, 'total'])
      console.log(
        `  ${n.padEnd(16)}${rows.map(([, m]) => (n === 'total' ? sum(m) : (m.get(n) ?? 0)).toFixed(2).padStart(20)).join('')}`,
      );
    const [r, b] = [sum(rows[0][1]), sum(rows[1][1])];
    console.log(
      `router = ×${(r / b).toFixed(2)} the byte relay's system calls per call (${(r - b).toFixed(2)} more)`,
    );
    if (!haproxy) console.log('(haproxy not installed: Debian package haproxy)');
  });
}

main();
