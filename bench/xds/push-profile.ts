/**
 * Profiles the control plane pushing to `BENCH_STREAMS` (default 5,000) streams, a change every 250 ms
 * (BENCH_CHANGE_MS) for 10 s, and writes the CPU profile of that window alone (not start-up, not connecting) to
 * `BENCH_PROFILE` (default xds-push.cpuprofile): `node --import tsx bench/xds/push-profile.ts`, then open
 * it in Chrome's DevTools. Runs dist/ (npm run build first), as bench:xds does. A tool, not a figure.
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { join } from 'node:path';
import { startBenchPlane } from './built';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 5_000);
/** Time between changes: 250 ms keeps pushes overlapping; 2,000 lets each finish first, as bench:xds does. */
const EVERY_MS = Number(process.env.BENCH_CHANGE_MS ?? 250);

void (async () => {
  const cp = await startBenchPlane('warn');
  const planes = fork(join(__dirname, 'dataplanes.ts'), [String(cp.port), '127.0.9.1', 'p', '1'], {
    execArgv: ['--import', 'tsx'],
  });
  await new Promise<void>((resolve) =>
    planes.on('message', (m: Record<string, unknown>) => {
      if (m.up) planes.send({ cmd: 'connect', count: STREAMS, perBatch: 500 });
      else if (m.connected) resolve();
    }),
  );
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  // What holds the event loop (and so an admin call) during pushes: its delays and GC pauses.
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const pauses: number[] = [];
  const gc = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) pauses.push(e.duration);
  });
  gc.observe({ entryTypes: ['gc'] });
  const started = process.cpuUsage();
  let weight = 100;
  const changer = setInterval(() => void cp.admin.setInstanceWeight('engine-0', 'i-0', ++weight), EVERY_MS);
  setTimeout(() => {
    clearInterval(changer);
    const cpu = process.cpuUsage(started);
    loop.disable();
    gc.disconnect();
    pauses.sort((a, b) => a - b);
    const ms = (ns: number) => (ns / 1e6).toFixed(1);
    console.log(
      `event loop delay p50 ${ms(loop.percentile(50))} p99 ${ms(loop.percentile(99))} max ${ms(loop.max)} ms; ` +
        `GC pauses ${pauses.length}, total ${pauses.reduce((a, b) => a + b, 0).toFixed(0)} ms, max ${(pauses.at(-1) ?? 0).toFixed(1)} ms`,
    );
    void session.post('Profiler.stop').then(({ profile }) => {
      writeFileSync(process.env.BENCH_PROFILE ?? 'xds-push.cpuprofile', JSON.stringify(profile));
      const pushes = cp.metrics.registry.getSingleMetric('nerve_xds_pushes_total');
      console.log(
        `CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s for ${Math.floor(10_000 / EVERY_MS)} changes to ${STREAMS} streams`,
      );
      void pushes
        ?.get()
        .then((m) => console.log('pushes', JSON.stringify(m.values.map((v) => [v.labels, v.value]))));
      planes.kill();
      void cp.stop(100).then(() => process.exit(0));
    });
  }, 10_000);
})();
