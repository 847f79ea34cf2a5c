import '../../src/control-plane/control-plane';
import { MemoryStore } from '../../src/store/memory-store';
import { SharedNamespace } from '../../src/store/shared-namespace';

describe('shared namespaces: typed handles on the state replicas share', () => {
  it('catalogues every namespace the control plane uses, each once, each with its writer', () => {
    const catalogue = SharedNamespace.catalogue();
    expect([...catalogue.keys()].sort()).toEqual(
      [
        'alert-acks',
        'alert-action-approvals',
        'alerts',
        'autoscale',
        'autoscale-pins',
        'circuit-resets',
        'circuits',
        'fleet-commands',
        'fleet-events',
        'health',
        'health-history',
        'leases',
        'processes',
        'registered-engines',
        'reports',
        'retry-budgets',
        'revoked-api-keys',
        'rollout-commands',
        'rollouts',
        'weights',
      ].sort(),
    );
    for (const writer of catalogue.values()) expect(writer.length).toBeGreaterThan(5);
    expect(() => new SharedNamespace('leases', 'someone else')).toThrow(/declared twice/);
  });

  it('reads back what it wrote, typed, and tells its own changes from others', async () => {
    const store = new MemoryStore();
    await store.start();
    const ns = new SharedNamespace<{ n: number; tags: string[] }>('test-typed', 'this test');
    const other = new SharedNamespace<string>('test-other', 'this test');
    const seen: string[] = [];
    store.watchShared((c) => {
      const mine = ns.changed(c);
      if (mine) seen.push(`${mine.field}=${mine.value?.n ?? 'gone'}`);
      else seen.push(`other:${c.ns}`);
    });
    await ns.put(store, [
      ['a', { n: 1, tags: ['x'] }],
      ['b', { n: 2, tags: [] }],
    ]);
    await other.put(store, [['z', 'hello']]);
    expect(ns.get(store, 'a')).toEqual({ n: 1, tags: ['x'] });
    expect(ns.has(store, 'b')).toBe(true);
    expect(ns.size(store)).toBe(2);
    expect(ns.values(store).map((v) => v.n)).toEqual([1, 2]);
    await ns.put(store, [['a', undefined]]);
    expect(ns.entries(store)).toEqual([['b', { n: 2, tags: [] }]]);
    expect(seen).toEqual(['a=1', 'b=2', 'other:test-other', 'a=gone']);
  });
});
