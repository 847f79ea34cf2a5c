/**
 * npm run bench:router-instructions — what a routed call costs in instructions, counted by valgrind's
 * callgrind: the same count on a quiet or a loaded machine (CPU time on a shared machine moves by tens of
 * percent from run to run), so changes and proxies compare exactly. User mode only: the kernel's part
 * (reads, writes, the loopback TCP stack, wakeups) is not counted; bench:router shows it is about the same
 * for every proxy process.
 *
 * In one run, the same client calls the same echo engine, evenly spaced at BENCH_RATE calls/s (default
 * 100: each call alone, as at 1,000/s natively), through: the Nerve router, the Node byte relay (the floor
 * of a Node proxy process) and, when installed, HAProxy (C). Each runs under callgrind, is warmed up, and
 * counts BENCH_CALLS calls (default 2,000). Reported per call: instructions of the main thread (the event
 * loop: the request path) and of all threads (V8's compiler and GC threads too), and the ratios.
 * Env: BENCH_CALLS, BENCH_RATE, BENCH_QUIET_SECONDS (default 30) and BENCH_WARM_SECONDS (default 900, the
 * most): the router warms up until V8 has neither optimised nor deoptimised a function of the request
 * path for the quiet period (read from its --trace-opt/--trace-deopt output; the request path is what
 * the main thread ran in a counted window, named from V8's perf map: a timer's function tiering up
 * every few seconds does not hold the count back), not for a fixed time — under valgrind V8 takes
 * minutes, and longer on a loaded machine, to finish the request path; a count taken while it still
 * compiles reads 10–25 % high. A counted window in which V8 optimised or deoptimised a function of the
 * request path, or whose all-threads figure is over twice the main thread's, is not printed: it is counted again
 * (up to BENCH_RECOUNTS times, default 3), and with no settled window the bench says so and exits 1.
 * BENCH_ROLLOUT=match|mirror: a rollout runs on the engine while counting (processes.ts): one header match
 * rule no call matches, or 10 % of calls mirrored to a canary at weight 0.
 * BENCH_FUNCTIONS=N: also the router's N costliest functions
 * (their own instructions per call, JavaScript named from V8's perf map). BENCH_TLS=1: instead, the
 * router in plaintext, the router terminating TLS (ALPN h2) and HAProxy terminating TLS, clients over TLS.
 *
 * Before counting, each proxy answers BENCH_CALLS calls in the counted pattern (evenly spaced) as well
 * as the closed-loop warm-up: a spaced call takes branches a back-to-back one never does (an idle
 * connection's released write buffer, timers firing between calls), and V8 deoptimises a function the
 * first time one of its branches runs. Counted in the window, that one-time cascade (a deopt, the code
 * depending on it, recompiling on the helper threads) showed as 20 % more main-thread instructions and
 * the all-threads figure tripled. The router runs with --trace-deopt, and the deopts inside the counted
 * window are printed, so a figure taken while V8 still settles says so.
 */
import * as grpc from '@grpc/grpc-js';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { functionCosts } from './callgrind-functions';
import { benchWithLineup } from './processes';
import { startTlsLineup } from './tls-lineup';
import { echoCall, evenlySpaced } from './spaced-calls';

const CALLS = Number(process.env.BENCH_CALLS ?? 2000);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const WARM_SECONDS = Number(process.env.BENCH_WARM_SECONDS ?? 900);
const QUIET_SECONDS = Number(process.env.BENCH_QUIET_SECONDS ?? 30);
const RECOUNTS = Number(process.env.BENCH_RECOUNTS ?? 3);
const FUNCTIONS = Number(process.env.BENCH_FUNCTIONS ?? 0);
const OUT = mkdtempSync(join(tmpdir(), 'nerve-callgrind-'));
const CALLGRIND = [
  'valgrind',
  '--tool=callgrind',
  '--separate-threads=yes',
  `--callgrind-out-file=${join(OUT, 'cg.%p')}`,
];

/** The dump of process `pid`'s main thread. */
function mainThreadDump(pid: number): string | undefined {
  const files = readdirSync(OUT).filter((f) => new RegExp(`^cg\\.${pid}\\.\\d+-0*1$`).test(f));
  const dumpNo = (f: string) => Number(/\.(\d+)-\d+$/.exec(f)![1]);
  const last = files.sort((a, b) => dumpNo(a) - dumpNo(b)).pop();
  return last && join(OUT, last);
}

/** Instructions counted in process `pid`'s last dump: main thread and all threads (callgrind's totals). */
function counted(pid: number): { main: number; all: number } {
  // Files are cg.<pid>.<dump>-<thread>: a recount leaves the earlier dumps beside the last one.
  const dumps = readdirSync(OUT)
    .map((f) => new RegExp(`^cg\\.${pid}\\.(\\d+)-(\\d+)$`).exec(f))
    .filter((m): m is RegExpExecArray => m !== null);
  const last = Math.max(...dumps.map((m) => Number(m[1])));
  let main = 0;
  let all = 0;
  for (const m of dumps) {
    if (Number(m[1]) !== last) continue;
    const totals = /^(?:totals|summary): (\d+)/m.exec(readFileSync(join(OUT, m[0]), 'utf8'));
    const n = totals ? Number(totals[1]) : 0;
    all += n;
    if (Number(m[2]) === 1) main += n;
  }
  return { main, all };
}

/**
 * Warms `pid`'s path up, then counts its instructions over CALLS calls. With `v8` (a process run with
 * V8's optimisation trace), the warm-up lasts until V8 has been quiet for QUIET_SECONDS (at most
 * `warmSeconds`), closed-loop calls and the counted pattern in turn; a window V8 was not quiet in is
 * counted again.
 */
async function measure(
  pid: number,
  client: EngineClient,
  md: grpc.Metadata,
  warmSeconds: number,
  v8?: V8Trace,
): Promise<{ main: number; all: number; settled: boolean; warmedSeconds: number }> {
  for (let i = 0; i < 300; i++) await echoCall(client, md).catch(() => new Promise((r) => setTimeout(r, 50)));
  const started = performance.now();
  const warmEnd = started + warmSeconds * 1000;
  const count = async () => {
    v8?.start();
    execFileSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
    await evenlySpaced(client, md, CALLS, RATE);
    execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
    v8?.end();
    const dump = mainThreadDump(pid);
    if (v8 && dump) v8.learnPath(functionCosts(dump, `/tmp/perf-${pid}.map`));
    return counted(pid);
  };
  if (v8) {
    // A spaced call takes branches a back-to-back one never does: both patterns, until V8 is quiet on
    // the request path. A first count, early, tells which functions are on it.
    const warmRound = async () => {
      const burstEnd = performance.now() + 5_000;
      while (performance.now() < burstEnd) await echoCall(client, md);
      await evenlySpaced(client, md, Math.min(CALLS, RATE * 3), RATE);
    };
    for (let i = 0; i < 6 && performance.now() < warmEnd; i++) await warmRound();
    await count();
    while (performance.now() < warmEnd && !v8.quietFor(QUIET_SECONDS * 1000)) await warmRound();
  } else while (performance.now() < warmEnd) await echoCall(client, md);
  await evenlySpaced(client, md, CALLS, RATE); // the counted pattern's own branches, before counting
  const warmedSeconds = Math.round((performance.now() - started) / 1000);
  for (let attempt = 0; ; attempt++) {
    const c = await count();
    const figure = { main: c.main / CALLS, all: c.all / CALLS, warmedSeconds };
    const settled = !v8 || (v8.quietInWindow() && c.all <= 2 * c.main);
    if (settled || attempt >= RECOUNTS) return { ...figure, settled };
    // The unsettled figure is printed for what it is worth (V8 still tiering reads high), never tabled.
    console.log(
      `  (not settled at ${Math.round(figure.main).toLocaleString('en')} main, counting again: ${v8.report()}; all threads ×${(c.all / c.main).toFixed(2)} main)`,
    );
  }
}

/** The router's costliest functions by their own instructions per call. */
function printFunctions(pid: number): void {
  const dump = mainThreadDump(pid);
  if (dump === undefined) return;
  const costs = [...functionCosts(dump, `/tmp/perf-${pid}.map`)].sort((a, b) => b[1] - a[1]);
  console.log(`the router's ${FUNCTIONS} costliest functions, own instructions per call (main thread):`);
  for (const [name, n] of costs.slice(0, FUNCTIONS))
    console.log(
      `  ${Math.round(n / CALLS)
        .toLocaleString('en')
        .padStart(7)}  ${name.slice(0, 110)}`,
    );
}

const TRACE = ['--trace-deopt', '--trace-opt', '--trace-gc'];

type V8Trace = ReturnType<typeof v8Trace>;

/** The function's own name in a perf map label (`JS:*onStream /path/file.js:12:3` → `onStream`). */
function bareName(label: string): string {
  const m = /^(?:JS|LazyCompile|Function|Script):[*~^+-]?(\S*)/.exec(label);
  return m ? m[1] : label;
}

/**
 * A process's V8 deoptimisations, optimisations and collections, read from its trace output: when the
 * last optimisation or deopt of a request-path function happened (the warm-up waits for quiet), and
 * what happened between start() and end() (a counted window). The request path is what the main thread
 * ran in the last counted window (`learnPath`, from callgrind's dump and V8's perf map): a timer's
 * function tiered up every few seconds (reports, sweeps) costs the counted calls nothing and does not
 * hold the count back. Before the first count every function counts.
 */
function v8Trace(child: { stdout: NodeJS.ReadableStream }) {
  let counting = false;
  let lastChangeMs = performance.now();
  let path: Set<string> | undefined;
  let deopts: string[] = [];
  let opts: string[] = [];
  let offPath = 0;
  let gcs = 0;
  const onPath = (name: string) => path === undefined || path.has(name);
  child.stdout.on('data', (d: Buffer) => {
    const text = d.toString();
    const bailouts = [...text.matchAll(/bailout \(kind: ([\w-]+)[^<]*<JSFunction ([^\s(]*)/g)];
    const optimised = [...text.matchAll(/completed optimizing [^<]*<JSFunction ([^\s(]*)/g)];
    const onPathNow = bailouts.some((m) => onPath(m[2])) || optimised.some((m) => onPath(m[1]));
    if (onPathNow) lastChangeMs = performance.now();
    if (!counting) return;
    for (const m of bailouts)
      if (onPath(m[2])) deopts.push(`${m[2]} (${m[1]})`);
      else offPath++;
    for (const m of optimised)
      if (onPath(m[1])) opts.push(m[1]);
      else offPath++;
    gcs += text.match(/Scavenge|Mark-Compact|Mark-sweep/g)?.length ?? 0;
  });
  const list = (names: string[]) => names.slice(0, 8).join(', ');
  return {
    quietFor: (ms: number) => performance.now() - lastChangeMs >= ms,
    learnPath: (costs: ReadonlyMap<string, number>) => {
      path = new Set([...costs.keys()].map(bareName).filter((n) => n !== ''));
    },
    start: () => {
      counting = true;
      deopts = [];
      opts = [];
      offPath = 0;
      gcs = 0;
    },
    end: () => void (counting = false),
    quietInWindow: () => deopts.length === 0 && opts.length === 0,
    report: () =>
      `in the counted window: ${deopts.length} V8 deopts${deopts.length ? ` (${list(deopts)})` : ''} and ` +
      `${opts.length} functions optimised${opts.length ? ` (${list(opts)})` : ''} on the request path, ` +
      `${offPath} off it; ${gcs} garbage collections`,
  };
}

/** Prints nothing of a figure counted while V8 still compiled: it says so, and the run fails. */
function unsettled(name: string, trace: V8Trace, c: { main: number; all: number }): void {
  console.log(
    `  ${name}: no settled window after ${RECOUNTS + 1} counts (${trace.report()}; all threads ×${(c.all / c.main).toFixed(2)} main): no figure`,
  );
  process.exitCode = 1;
}

function main(): void {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('valgrind is not installed (Debian package valgrind): nothing to count with');
    return;
  }
  console.log(
    `bench:router-instructions: ${CALLS} calls at ${RATE}/s evenly spaced, counted by callgrind after warming up (router: until V8 is quiet for ${QUIET_SECONDS} s, at most ${WARM_SECONDS} s); user-mode instructions per call`,
  );
  // Names for V8's code (the perf map) and callgrind's per-instruction dump: the request path's functions.
  const routerFlags = ['--perf-basic-prof', ...TRACE];
  const routerWrap = [...CALLGRIND, '--dump-instr=yes'];
  benchWithLineup([routerFlags, routerWrap, CALLGRIND], async ({ router, relay, haproxy }, clients) => {
    const { viaRouter, none } = clients;
    const client = (port: string | number) => clients.to(port);
    const deopts = v8Trace(router.child);
    const r = await measure(router.child.pid!, client(router.match[1]), viaRouter, WARM_SECONDS, deopts);
    if (FUNCTIONS > 0) printFunctions(router.child.pid!);
    const b = await measure(relay.child.pid!, client(relay.match[1]), none, 30);
    const h = haproxy ? await measure(haproxy.child.pid!, client(haproxy.port), none, 5) : undefined;
    const row = (name: string, c: { main: number; all: number }) =>
      console.log(
        `  ${name.padEnd(40)} ${Math.round(c.main).toLocaleString('en').padStart(9)}  ${Math.round(c.all).toLocaleString('en').padStart(9)}`,
      );
    console.log(`  ${''.padEnd(40)} ${'main'.padStart(9)}  ${'all'.padStart(9)}`);
    if (r.settled) row('Nerve router (every feature on)', r);
    else unsettled('Nerve router', deopts, r);
    console.log(`  (router: warmed ${r.warmedSeconds} s; ${deopts.report()})`);
    row('byte relay (Node, no HTTP/2)', b);
    if (h) row('HAProxy (C, HTTP/2 both sides)', h);
    if (!r.settled) return;
    console.log(
      `router = ×${(r.main / b.main).toFixed(2)} the byte relay's main thread (${Math.round(r.main - b.main).toLocaleString('en')} more per call)` +
        (h
          ? `, ×${(r.main / h.main).toFixed(2)} HAProxy's`
          : ' (haproxy not installed: Debian package haproxy)'),
    );
  });
}

/** BENCH_TLS=1: what TLS costs the router, in instructions, beside plaintext and HAProxy terminating TLS. */
async function tlsLineup(): Promise<void> {
  console.log(
    `bench:router-instructions (TLS): ${CALLS} calls at ${RATE}/s evenly spaced, after a warm-up until V8 is quiet for ${QUIET_SECONDS} s; user-mode instructions per call`,
  );
  const { proxies, stop } = await startTlsLineup(TRACE, CALLGRIND);
  try {
    const rows: [string, { main: number; all: number; settled: boolean }][] = [];
    const windows = proxies.slice(0, 2).map((p) => v8Trace(p.child));
    for (const [i, p] of proxies.entries())
      rows.push([p.name, await measure(p.child.pid!, p.client, p.md, i < 2 ? WARM_SECONDS : 5, windows[i])]);
    for (const [i, [name, c]] of rows.entries()) if (!c.settled) unsettled(name, windows[i], c);
    console.log(`  ${''.padEnd(40)} ${'main'.padStart(9)}  ${'all'.padStart(9)}`);
    for (const [name, c] of rows.filter(([, c]) => c.settled))
      console.log(
        `  ${name.padEnd(40)} ${Math.round(c.main).toLocaleString('en').padStart(9)}  ${Math.round(c.all).toLocaleString('en').padStart(9)}   ×${(c.main / rows[0][1].main).toFixed(2)} plaintext`,
      );
    console.log(`  (plaintext router: ${windows[0].report()})`);
    console.log(`  (TLS router: ${windows[1].report()})`);
    if (proxies.length < 3) console.log('  (haproxy not installed: Debian package haproxy)');
  } finally {
    stop();
  }
}

if (process.env.BENCH_TLS)
  tlsLineup().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
else main();
