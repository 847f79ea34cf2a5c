/**
 * npm run bench:security — what TLS and authentication cost, in one run.
 *
 * 1. The router's CPU per call over TLS (ALPN h2, its own HTTP/2 layer on Node's TLS sockets) beside the
 *    same router in plaintext and beside HAProxy (C, OpenSSL) terminating TLS in front of the same engine:
 *    grpc-js clients send evenly spaced calls (BENCH_RATE per second, default 500, for BENCH_SECONDS,
 *    default 5) after a warm-up; CPU is utime + stime of the proxy process from /proc. Medians of
 *    BENCH_ROUNDS (default 3) rounds, the proxies interleaved so the machine's noise falls on all alike.
 * 2. Authentication per REST call: the control plane's CPU per GET /engines with auth off, with an API
 *    key and with an HS256 JWT (each a control plane of its own, same engines), BENCH_REST_CALLS calls
 *    (default 2,000) one after another on a kept-alive connection.
 */
import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import { SignJWT } from 'jose';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { cpuSeconds } from '../process-stats';
import { startNerve } from './processes';
import { startTlsLineup } from './tls-lineup';
import { echoCall, evenlySpaced } from './spaced-calls';

const RATE = Number(process.env.BENCH_RATE ?? 500);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const REST_CALLS = Number(process.env.BENCH_REST_CALLS ?? 2000);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Proxy CPU µs per call over one measured run of evenly spaced calls. */
async function cpuPerCall(pid: number, client: EngineClient, md: grpc.Metadata): Promise<number> {
  const calls = RATE * SECONDS;
  const before = cpuSeconds(pid);
  await evenlySpaced(client, md, calls, RATE);
  return ((cpuSeconds(pid) - before) * 1e6) / calls;
}

async function proxies(): Promise<void> {
  const { proxies: lineup, stop } = await startTlsLineup();
  try {
    for (const p of lineup) for (let i = 0; i < 2000; i++) await echoCall(p.client, p.md);
    const results = new Map<string, number[]>(lineup.map((p) => [p.name, []]));
    for (let round = 0; round < ROUNDS; round++)
      for (const p of lineup) results.get(p.name)!.push(await cpuPerCall(p.child.pid!, p.client, p.md));
    const plainUs = median(results.get(lineup[0].name)!);
    console.log(
      `proxy CPU per call, ${RATE} calls/s evenly spaced, medians of ${ROUNDS} × ${SECONDS} s (utime+stime):`,
    );
    for (const p of lineup) {
      const us = median(results.get(p.name)!);
      console.log(
        `  ${p.name.padEnd(28)} ${us.toFixed(1).padStart(6)} µs   ×${(us / plainUs).toFixed(2)} the plaintext router`,
      );
    }
    if (lineup.length < 3) console.log('  (haproxy not installed: Debian package haproxy)');
  } finally {
    stop();
  }
}

/** GET /engines `n` times in a row on one kept-alive connection, with `headers`. */
async function restCalls(port: number, n: number, headers: Record<string, string>): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  for (let i = 0; i < n; i++)
    await new Promise<void>((resolve, reject) => {
      const req = http.get(
        { host: '127.0.0.1', port, path: '/api/v1/nerve/engines', headers, agent },
        (res) => {
          if (res.statusCode !== 200) reject(new Error(`HTTP ${res.statusCode}`));
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
    });
  agent.destroy();
}

async function authOverhead(): Promise<void> {
  const secret = 'a bench secret of at least thirty-two bytes';
  const key = 'bench-key-0123456789abcdefghij';
  const jwt = await new SignJWT({ roles: ['viewer'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('bench')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
  const start = (auth: boolean) =>
    startNerve(
      [
        'control-plane',
        '--api-port',
        '0',
        '--xds-port',
        '0',
        '--host',
        '127.0.0.1',
        '--rate-limit-per-minute',
        '0',
        ...(auth
          ? ['--enable-auth', 'true', '--jwt-secret', secret, '--api-keys', `bench:viewer:${key}`]
          : []),
      ],
      /REST on http:\/\/127\.0\.0\.1:(\d+)/,
    );
  const off = await start(false);
  const on = await start(true);
  try {
    const cases: { name: string; cp: typeof off; headers: Record<string, string> }[] = [
      { name: 'auth off', cp: off, headers: {} },
      { name: 'API key (X-API-Key)', cp: on, headers: { 'x-api-key': key } },
      { name: 'HS256 JWT (Bearer)', cp: on, headers: { authorization: `Bearer ${jwt}` } },
    ];
    const results = new Map<string, number[]>(cases.map((c) => [c.name, []]));
    for (const c of cases) await restCalls(Number(c.cp.match[1]), 500, c.headers); // warm-up
    for (let round = 0; round < ROUNDS; round++)
      for (const c of cases) {
        const before = cpuSeconds(c.cp.child.pid!);
        await restCalls(Number(c.cp.match[1]), REST_CALLS, c.headers);
        results.get(c.name)!.push(((cpuSeconds(c.cp.child.pid!) - before) * 1e6) / REST_CALLS);
      }
    const base = median(results.get('auth off')!);
    console.log(
      `control-plane CPU per REST call (GET /engines, ${REST_CALLS} calls in a row, medians of ${ROUNDS}):`,
    );
    for (const c of cases) {
      const us = median(results.get(c.name)!);
      console.log(
        `  ${c.name.padEnd(28)} ${us.toFixed(0).padStart(6)} µs   +${(us - base).toFixed(0)} µs over auth off`,
      );
    }
  } finally {
    off.child.kill('SIGKILL');
    on.child.kill('SIGKILL');
  }
}

proxies()
  .then(authOverhead)
  .catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
