// Memory of 24 h of metric history for 50 engines × 4 instances (issue goal ≤ 50 MB), against the
// same process before any history (baseline), plus the CPU the leader's 10 s sample costs.
import { EventBus } from '../../src/control-plane/kernel/events';
import { HistoryModule } from '../../src/control-plane/history/history-module';
import { CallWindows } from '../../src/control-plane/calls/call-windows';
import type { EngineSpec } from '../../src/model/engine';
import { parseEngineSpec } from '../../src/model/validate';
import { createLogger } from '../../src/observability/logger';
import { MemoryHistoryStore } from '../../src/store/history-store';

const ENGINES = 50;
const INSTANCES = 4;
const specs: EngineSpec[] = Array.from({ length: ENGINES }, (_, e) => {
  const r = parseEngineSpec({
    name: `engine-${e}`,
    instances: Array.from({ length: INSTANCES }, (_, i) => ({
      id: `e${e}-i${i}`,
      address: `127.0.0.1:${1000 + i}`,
    })),
  });
  if (!r.ok) throw new Error(r.errors.join());
  return r.value;
});

function heapMb(): number {
  global.gc?.();
  return process.memoryUsage().heapUsed / 1e6 + process.memoryUsage().arrayBuffers / 1e6;
}

async function main(): Promise<void> {
  let now = Date.UTC(2026, 0, 1);
  const windows = new CallWindows(60_000, 5_000, () => now);
  const store = new MemoryHistoryStore();
  const module = new HistoryModule(
    store,
    () => specs,
    windows,
    { leading: true },
    new EventBus(() => undefined),
    createLogger('history', 'silent'),
    () => now,
  );
  const before = heapMb();
  const cpu0 = process.cpuUsage();
  const ticks = 86_400_000 / 10_000;
  const sampleMs: number[] = [];
  for (let t = 0; t < ticks; t++) {
    now += 10_000;
    const s = performance.now();
    await module.sample(now);
    sampleMs.push(performance.now() - s);
  }
  const cpu = process.cpuUsage(cpu0);
  const after = heapMb();
  sampleMs.sort((a, b) => a - b);
  console.log(
    `history of ${ENGINES} engines × ${INSTANCES} instances (${store.size} rings), ${ticks} ticks of 10 s (24 h)`,
  );
  console.log(
    `  memory: ${(after - before).toFixed(1)} MB over the baseline of ${before.toFixed(1)} MB (goal ≤ 50 MB)`,
  );
  console.log(
    `  one leader tick: median ${sampleMs[sampleMs.length >> 1].toFixed(2)} ms, p99 ${sampleMs[Math.floor(sampleMs.length * 0.99)].toFixed(2)} ms`,
  );
  console.log(
    `  CPU for 24 h of ticks: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s (${(((cpu.user + cpu.system) / 1e6 / 86_400) * 100).toFixed(3)} % of a core)`,
  );
}

void main();
