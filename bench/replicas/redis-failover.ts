import type { JsonValue } from '../../src/model/config';
import { RedisStore } from '../../src/store/redis/redis-store';
import { failoverDrill } from '../../test/helpers/failover-chaos';
import { startSentinelSet } from '../../test/helpers/redis-sentinel';
import { cpuSeconds, rssMb } from '../process-stats';

/**
 * Redis through Sentinel (`npm run bench:redis-failover`), in one run:
 * 1. What WAIT adds to a commit: BENCH_COMMITS (400) commits with NERVE_REDIS_MIN_REPLICAS=1, interleaved
 *    with as many at 0 (the baseline, same primary, same process), p50/p99 and the ratio.
 * 2. The failover drill (test/helpers/failover-chaos.ts): three control planes, a router under load, a
 *    writer; the primary SIGKILLed BENCH_FAILOVERS (5) times; write unavailability per failover (p50,
 *    max), acknowledged changes and those lost, routed calls and failures.
 * CPU seconds and RSS of this process over part 1.
 */

const COMMITS = Number(process.env.BENCH_COMMITS ?? 400);
const FAILOVERS = Number(process.env.BENCH_FAILOVERS ?? 5);

const quantile = (xs: readonly number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};
const ms = (x: number) => `${x.toFixed(2)} ms`;

async function waitLatency(): Promise<void> {
  const set = await startSentinelSet({ replicas: 1, sentinels: 3, downAfterMs: 5_000 });
  const target = { kind: 'sentinel' as const, sentinels: set.sentinels, name: set.name, tls: false };
  const waiting = new RedisStore({ target, prefix: 'bench-wait:', minReplicas: 1 });
  const baseline = new RedisStore({ target, prefix: 'bench-nowait:', minReplicas: 0 });
  try {
    await waiting.start();
    await baseline.start();
    const doc = (n: number): JsonValue => ({ name: 'a', n });
    const commit = async (store: RedisStore, n: number) => {
      const started = performance.now();
      await store.commit({
        actor: 'bench',
        summary: 'change',
        ops: [{ op: 'put', kind: 'engines', name: 'a', value: doc(n) }],
      });
      return performance.now() - started;
    };
    for (let n = 0; n < 50; n++) {
      await commit(waiting, n);
      await commit(baseline, n);
    }
    const cpu0 = cpuSeconds(process.pid);
    const withWait: number[] = [];
    const without: number[] = [];
    for (let n = 0; n < COMMITS; n++) {
      // Interleaved, so that the machine's noise falls on both alike.
      withWait.push(await commit(waiting, n));
      without.push(await commit(baseline, n));
    }
    const cpu = cpuSeconds(process.pid) - cpu0;
    const p50 = quantile(withWait, 0.5);
    const b50 = quantile(without, 0.5);
    console.log(`\n1. Commit latency through Sentinel, ${COMMITS} commits each, interleaved`);
    console.log('| NERVE_REDIS_MIN_REPLICAS | p50 | p99 |');
    console.log('| --- | --- | --- |');
    console.log(`| 0 (baseline) | ${ms(b50)} | ${ms(quantile(without, 0.99))} |`);
    console.log(`| 1 (WAIT) | ${ms(p50)} | ${ms(quantile(withWait, 0.99))} |`);
    console.log(
      `WAIT adds ${ms(p50 - b50)} at p50 (×${(p50 / b50).toFixed(2)}); this process: ${cpu.toFixed(1)} CPU s over ${COMMITS * 2} commits, RSS ${rssMb(process.pid).toFixed(0)} MB`,
    );
  } finally {
    await waiting.close();
    await baseline.close();
    await set.stop();
  }
}

async function drill(): Promise<void> {
  const r = await failoverDrill({ failovers: FAILOVERS });
  console.log(`\n2. Failover drill: ${FAILOVERS} SIGKILLs of the primary`);
  console.log(
    '| write unavailability p50 | max | acknowledged | lost | fence regressions | doubled actions | routed calls | failed |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  console.log(
    `| ${(quantile(r.unavailableMs, 0.5) / 1000).toFixed(1)} s | ${(Math.max(...r.unavailableMs) / 1000).toFixed(1)} s | ${r.acknowledged} | ${r.lost.length} | ${r.fenceRegressions} | ${r.doubledActions} | ${r.routedCalls} | ${r.failedCalls.length} |`,
  );
  console.log(`per failover: ${r.unavailableMs.map((x) => (x / 1000).toFixed(1)).join(', ')} s`);
  console.log(
    `an alert firing across the failovers: ${r.notifications.firing} firing and ${r.notifications.resolved} resolved notifications, ${r.notifications.deliveries} deliveries`,
  );
  console.log(
    `commits through the REST API outside failovers (3 processes, WAIT 1): p50 ${ms(quantile(r.commitMs, 0.5))}, p99 ${ms(quantile(r.commitMs, 0.99))}`,
  );
  if (r.lost.length > 0 || r.eventProblems.length > 0 || !r.converged)
    console.log(
      `problems: ${JSON.stringify({ lost: r.lost, events: r.eventProblems, converged: r.converged })}`,
    );
}

async function main(): Promise<void> {
  await waitLatency();
  await drill();
}

void main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
