import { SnapshotBuilder } from '../../src/control-plane/xds/snapshot-builder';
import { EngineCatalog } from '../../src/control-plane/config/engine-catalog';
import { InMemorySnapshotCache } from '../../src/control-plane/xds/snapshot-cache';
import { parseEngineSpec } from '../../src/model/validate';
import { MemoryStore } from '../../src/store/memory-store';

describe('snapshot builder debouncing (fake clock)', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  async function setup() {
    const store = new EngineCatalog(new MemoryStore());
    const meta = { actor: 'test', summary: 'test' };
    const spec = parseEngineSpec({ name: 'e', instances: [{ id: 'a', address: '10.0.0.1:1' }] });
    if (!spec.ok) throw new Error();
    await store.put(spec.value, meta);
    const cache = new InMemorySnapshotCache();
    const published: number[] = [];
    cache.watch(() => published.push(Date.now()));
    let weight = 1;
    const builder = new SnapshotBuilder(
      store,
      cache,
      () => 'healthy',
      (e) => {
        throw e;
      },
      { debounceMs: 50, maxDelayMs: 300 },
    );
    // Each request changes the content so every rebuild publishes.
    const change = async () => {
      const current = (await store.get('e'))!;
      await store.put({ ...current, instances: [{ ...current.instances[0], weight: ++weight }] }, meta);
      builder.request();
    };
    return { builder, published, change };
  }

  it('turns a burst of changes into one rebuild after the quiet period', async () => {
    const { builder, published, change } = await setup();
    for (let i = 0; i < 10; i++) {
      await change();
      await jest.advanceTimersByTimeAsync(5);
    }
    expect(builder.rebuilds).toBe(0);
    await jest.advanceTimersByTimeAsync(50);
    expect(builder.rebuilds).toBe(1);
    expect(published).toEqual([1_000_000 + 45 + 50]);
  });

  it('never delays a change by more than the bound during an endless burst', async () => {
    const { published, change } = await setup();
    for (let t = 0; t < 1_000; t += 20) {
      await change();
      await jest.advanceTimersByTimeAsync(20);
    }
    const delays = published.map((at, i) => at - (i === 0 ? 1_000_000 : published[i - 1]));
    expect(published.length).toBeGreaterThanOrEqual(3);
    for (const d of delays) expect(d).toBeLessThanOrEqual(300 + 20);
  });
});
