import { EventBus } from '../../src/control-plane/kernel/events';
import { HistoryModule } from '../../src/control-plane/history/history-module';
import { queryHistory } from '../../src/control-plane/history/history-query';
import { CallWindows } from '../../src/control-plane/calls/call-windows';
import { COARSE, FINE, SLOT_BYTES } from '../../src/model/history/series-ring';
import { parseEngineSpec } from '../../src/model/validate';
import type { EngineSpec } from '../../src/model/engine';
import { MemoryHistoryStore } from '../../src/store/history-store';
import { createLogger } from '../../src/observability/logger';
import { instanceLoad, routerReport } from '../helpers/loads';

const spec = (() => {
  const r = parseEngineSpec({
    name: 'calc',
    instances: [
      { id: 'c1', address: '127.0.0.1:1' },
      { id: 'c2', address: '127.0.0.1:2' },
    ],
  });
  if (!r.ok) throw new Error(r.errors.join());
  return r.value as EngineSpec;
})();

const load = (instanceId: string, n: number, ms: number, cpu = 0, orcaAtMs = 0) =>
  instanceLoad('calc', instanceId, Array(n).fill(ms), {
    inFlight: 1,
    cpuUtilization: cpu,
    memUtilization: 0.1,
    orcaAtMs,
  });

describe('metric history on a fake clock', () => {
  const start = Date.UTC(2026, 0, 1); // a whole minute
  let now = start;
  const windows = new CallWindows(60_000, 5_000, () => now);
  const store = new MemoryHistoryStore();
  const module = new HistoryModule(
    store,
    () => [spec],
    windows,
    { leading: true },
    new EventBus(() => undefined),
    createLogger('history', 'silent'),
    () => now,
  );

  /** One tick: c1 gets `rps`×10 calls of `ms`, c2 nothing; then the tick is sampled. */
  async function tick(rps: number, ms: number): Promise<void> {
    const tickStart = now;
    for (let t = 1; t <= 5; t++) {
      now = tickStart + t * 2_000 - 1;
      windows.record(routerReport(now, [load('c1', rps * 2, ms, 0.5, now)]));
    }
    now = tickStart + FINE.stepMs;
    await module.sample(now);
  }

  it('keeps 10 s points for an hour and 1 min points for a day, downsampled, in fixed memory', async () => {
    // Two minutes: 100 rps at 10 ms, then 300 rps at 40 ms.
    for (let i = 0; i < 6; i++) await tick(100, 10);
    for (let i = 0; i < 6; i++) await tick(300, 40);
    const hour = await queryHistory(
      store,
      [spec],
      { engine: 'calc', instance: 'c1', metrics: ['rps', 'p99Ms', 'cpu'] },
      now,
    );
    expect(hour.resolution).toBe('10s');
    const rps = hour.series.find((s) => s.metric === 'rps')!.points;
    expect(rps).toHaveLength(12);
    expect(rps[0]).toEqual([start + 10_000, 100]);
    expect(rps[11][1]).toBe(300);
    expect(hour.series.find((s) => s.metric === 'cpu')!.points[0][1]).toBe(0.5);

    const day = await queryHistory(store, [spec], { engine: 'calc', instance: 'c1', stepMs: 60_000 }, now);
    expect(day.resolution).toBe('1m');
    const minuteRps = day.series.find((s) => s.metric === 'rps')!.points;
    expect(minuteRps).toEqual([
      [start + 60_000, 100],
      [start + 120_000, 300],
    ]);
    const p99 = day.series.find((s) => s.metric === 'p99Ms')!.points;
    expect(p99[0][1]).toBeGreaterThan(8);
    expect(p99[0][1]).toBeLessThanOrEqual(10.5);
    expect(p99[1][1]).toBeGreaterThan(32);
    // An instance without calls has rps 0 and no latency (a gap, not "0 ms").
    const idle = await queryHistory(
      store,
      [spec],
      { engine: 'calc', instance: 'c2', metrics: ['rps', 'p99Ms'] },
      now,
    );
    expect(idle.series[0].points.every(([, v]) => v === 0)).toBe(true);
    expect(idle.series[1].points).toEqual([]);
  });

  it('stays bounded over two days: the rings never grow and old points are gone', async () => {
    const ticks = (2 * 86_400_000) / FINE.stepMs;
    for (let i = 0; i < ticks; i++) {
      now += FINE.stepMs;
      await module.sample(now);
    }
    // Three entities (the engine and two instances) at two resolutions.
    expect(store.size).toBe(6);
    const hour = await queryHistory(
      store,
      [spec],
      { engine: 'calc', metrics: ['rps'], fromMs: now - 3 * 3_600_000 },
      now,
    );
    expect(hour.resolution).toBe('1m');
    expect(hour.series[0].points.length).toBeLessThanOrEqual(180);
    const all = await store.read(FINE, 'calc', 0, now / FINE.stepMs - 1);
    expect(all.length).toBe(FINE.slots);
    const coarse = await store.read(COARSE, 'calc', 0, now / COARSE.stepMs - 1);
    expect(coarse.length).toBe(COARSE.slots);
    // Memory: each ring is fixed at slots × (4 + 4 × metrics) bytes.
    expect(SLOT_BYTES * (FINE.slots + COARSE.slots)).toBeLessThan(70_000);
  });

  it('answers only engine with every metric of the engine and its instances; refuses what it does not know', async () => {
    const all = await queryHistory(store, [spec], { engine: 'calc' }, now);
    expect(new Set(all.series.map((s) => s.instance))).toEqual(new Set([null, 'c1', 'c2']));
    expect(all.series.length).toBe(3 * 8);
    await expect(queryHistory(store, [spec], { engine: 'calc', metrics: ['bogus'] }, now)).rejects.toThrow(
      /unknown metric "?bogus"?/,
    );
    await expect(queryHistory(store, [spec], { engine: 'nope' }, now)).rejects.toThrow(/not found/);
    await expect(queryHistory(store, [spec], { instance: 'c1' }, now)).rejects.toThrow(
      /instance needs engine/,
    );
  });
});

describe('MemoryHistoryStore', () => {
  it('keeps the rings of an entity no longer written for a day, then drops them', async () => {
    let now = 0;
    const store = new MemoryHistoryStore(() => now);
    const values = new Float32Array(8);
    await store.write([
      { resolution: FINE, entity: 'gone', tick: 1, values },
      { resolution: FINE, entity: 'kept', tick: 1, values },
    ]);
    now += 24 * 3_600_000;
    await store.write([{ resolution: FINE, entity: 'kept', tick: 2, values }]);
    expect(store.size).toBe(2);
    now += 2 * 3_600_000;
    await store.write([{ resolution: FINE, entity: 'kept', tick: 3, values }]);
    expect(store.size).toBe(1);
    expect(await store.read(FINE, 'gone', 0, 10)).toEqual([]);
  });
});
