/**
 * npm run bench:added-field — what the made traceparent costs the router per call, in instructions
 * counted by callgrind: the upstream HPACK encoder writing one request's block with the field, against the
 * same block without it (the baseline, measured in the same run). The whole routed call is
 * bench:router-instructions; this isolates the field, whose share there is within that bench's
 * run-to-run drift.
 *
 * Each figure is (instructions of a run encoding N blocks − those of a run encoding none) ÷ N, with V8 on
 * one thread (--single-threaded: compiles on the main thread, so the counts repeat exactly) and the same
 * warm-up in every run. Env: BENCH_CALLS (default 1,000,000).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const CALLS = Number(process.env.BENCH_CALLS ?? 1_000_000);
const CHILD = join(__dirname, 'added-field-encode.mjs');

/** CPU seconds of this process's waited-for children (Linux /proc: cutime + cstime). */
function childCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

function instructions(calls: number, withField: boolean): number {
  const run = spawnSync(
    'valgrind',
    [
      '--tool=callgrind',
      '--callgrind-out-file=/dev/null',
      'node',
      '--single-threaded',
      CHILD,
      String(calls),
      withField ? '1' : '0',
    ],
    { encoding: 'utf8' },
  );
  const collected = /Collected : (\d+)/.exec(run.stderr);
  if (run.status !== 0 || !collected) throw new Error(`callgrind failed: ${run.stderr.slice(-400)}`);
  return Number(collected[1]);
}

function main(): void {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('valgrind is not installed (Debian package valgrind): nothing to count with');
    return;
  }
  const started = childCpuSeconds();
  const none = instructions(0, false);
  const plain = (instructions(CALLS, false) - none) / CALLS;
  const field = (instructions(CALLS, true) - none) / CALLS;
  const row = (name: string, v: number) => console.log(`${name.padEnd(44)} ${v.toFixed(0).padStart(7)}`);
  console.log(`instructions per encoded request block (callgrind, ${CALLS.toLocaleString('en')} blocks)`);
  row('block without the field (baseline)', plain);
  row('block with the made traceparent', field);
  row('the field alone', field - plain);
  console.log(`ratio to baseline: ×${(field / plain).toFixed(2)}`);
  console.log(
    `CPU (valgrind children): ${(childCpuSeconds() - started).toFixed(1)} s; RSS of this process ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
  );
}

main();
