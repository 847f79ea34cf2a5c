import type { AdminContext } from '../../src/control-plane/commands/admin-context';
import { servedWeights } from '../../src/control-plane/weights/weights-module';
import { instanceLoad, routerReport } from '../helpers/loads';
import { unitPlane } from '../helpers/plane';

const ops: AdminContext = { actor: 'ops', via: 'rest', requestId: '' };
const ms = (n: number, v: number) => Array.from({ length: n }, () => v);

/**
 * Closed-loop weights over MemoryStore and jest's fake clock, fed by reports on the bus: the loop's
 * wiring (measure each interval, compute, share, serve) that weights.test.ts shows with real routers.
 */
describe('closed-loop weights over MemoryStore (fake clock)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('takes weight from a slow instance interval by interval, serves it, gives it back, and honours a pin', async () => {
    const plane = await unitPlane();
    await plane.admin.specs.create(
      {
        name: 'calc',
        adaptiveWeights: { intervalMs: 1_000 },
        instances: ['a', 'b', 'c'].map((id, i) => ({ id, address: `127.0.0.1:${7001 + i}` })),
      },
      ops,
    );
    await plane.start();
    const report = (aMs: number) =>
      plane.ctx.bus.emit(
        'report.received',
        routerReport(Date.now(), [
          instanceLoad('calc', 'a', ms(40, aMs)),
          instanceLoad('calc', 'b', ms(40, 5)),
          instanceLoad('calc', 'c', ms(40, 5)),
        ]),
      );
    const published = () => plane.weights.weights.weights('calc')?.published ?? {};
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      report(50);
      await jest.advanceTimersByTimeAsync(1_000);
      seen.push(published().a ?? 100);
    }
    // Monotonic, well below its peers within a few intervals; its peers keep theirs.
    expect(seen.every((w, i) => i === 0 || w <= seen[i - 1])).toBe(true);
    expect(seen[seen.length - 1]).toBeLessThanOrEqual(20);
    expect(published().b).toBe(100);
    const spec = plane.ctx.engines.getNow('calc')!;
    expect(servedWeights(plane.ctx.store, spec).instances.find((i) => i.id === 'a')?.weight).toBe(
      published().a,
    );
    expect(plane.admin.weights.view('calc').instances.find((i) => i.id === 'a')?.reason).toMatch(/p50/);

    for (let i = 0; i < 8; i++) {
      report(5);
      await jest.advanceTimersByTimeAsync(1_000);
    }
    expect(published().a).toBeGreaterThanOrEqual(80);

    await plane.admin.weights.pin('calc', 'a', 7, ops);
    expect(servedWeights(plane.ctx.store, plane.ctx.engines.getNow('calc')!).instances[0].weight).toBe(7);
    await plane.stop();
  });

  it('keeps equal instances at their weight interval after interval: no drift, no oscillation', async () => {
    const plane = await unitPlane();
    await plane.admin.specs.create(
      {
        name: 'calc',
        adaptiveWeights: { intervalMs: 1_000 },
        instances: ['a', 'b', 'c'].map((id, i) => ({ id, address: `127.0.0.1:${7001 + i}` })),
      },
      ops,
    );
    await plane.start();
    const seen: Record<string, number>[] = [];
    for (let i = 0; i < 8; i++) {
      // Equal instances, each interval's medians a little apart, as real ones are.
      plane.ctx.bus.emit(
        'report.received',
        routerReport(Date.now(), [
          instanceLoad('calc', 'a', ms(40, 5 + (i % 2))),
          instanceLoad('calc', 'b', ms(40, 5)),
          instanceLoad('calc', 'c', ms(40, 6 - (i % 2))),
        ]),
      );
      await jest.advanceTimersByTimeAsync(1_000);
      seen.push({ ...(plane.weights.weights.weights('calc')?.published ?? {}) });
    }
    for (const id of ['a', 'b', 'c']) {
      const values = seen.map((ws) => ws[id] ?? 100);
      expect(Math.min(...values)).toBeGreaterThanOrEqual(90);
      expect(Math.max(...values) - Math.min(...values)).toBeLessThanOrEqual(10);
    }
    await plane.stop();
  });
});
