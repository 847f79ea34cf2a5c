/**
 * Profiles the control plane pushing to `BENCH_STREAMS` (default 5,000) streams, a change every 250 ms
 * for 10 s: run with `node --cpu-prof --import tsx bench/xds/push-profile.ts`. A tool, not a figure.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { createLogger } from '../../src/observability/logger';
import { MemoryStore } from '../../src/store/memory-store';
import { benchFleet } from './fleet';

const STREAMS = Number(process.env.BENCH_STREAMS ?? 5_000);

void (async () => {
  const cp = await ControlPlane.start({
    store: new MemoryStore(),
    logger: createLogger('bench', 'warn'),
    host: '127.0.0.1',
    xdsPort: 0,
    engines: benchFleet(10, 10),
    healthChecks: false,
    debounce: { debounceMs: 0, maxDelayMs: 0 },
  });
  const planes = fork(join(__dirname, 'dataplanes.ts'), [String(cp.port), '127.0.9.1', 'p', '1'], {
    execArgv: ['--import', 'tsx'],
  });
  await new Promise<void>((resolve) =>
    planes.on('message', (m: Record<string, unknown>) => {
      if (m.up) planes.send({ cmd: 'connect', count: STREAMS, perBatch: 500 });
      else if (m.connected) resolve();
    }),
  );
  const started = process.cpuUsage();
  let weight = 100;
  const changer = setInterval(() => void cp.admin.setInstanceWeight('engine-0', 'i-0', ++weight), 250);
  setTimeout(() => {
    clearInterval(changer);
    const cpu = process.cpuUsage(started);
    console.log(`CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s for 40 changes to ${STREAMS} streams`);
    planes.kill();
    void cp.stop(100).then(() => process.exit(0));
  }, 10_000);
})();
