import { EngineCluster, EngineOverrides, HealthStatus } from '../../gen/nerve/discovery/v1/resources';
import { baseVersions } from '../../src/control-plane/rollouts/base-versions';
import { ROLLOUTS_NS } from '../../src/control-plane/rollouts/rollout-module';
import { nerveTtlResources } from '../../src/control-plane/resources/nerve-resources';
import type { EngineSpec } from '../../src/model/engine';
import type { Rollout } from '../../src/model/rollout';
import { parseEngineSpec } from '../../src/model/validate';
import { ENGINE_CLUSTER_TYPE, ENGINE_OVERRIDES_TYPE } from '../../src/protocol/type-urls';
import { MemoryStore } from '../../src/store/memory-store';

function spec(): EngineSpec {
  const r = parseEngineSpec({
    name: 'calc',
    versions: [
      { name: 'v1', weight: 80 },
      { name: 'v2', weight: 20 },
      { name: 'v3', weight: 30 },
    ],
    instances: [
      { id: 'a', address: '10.0.0.1:1', version: 'v1' },
      { id: 'b', address: '10.0.0.2:1', version: 'v2' },
      { id: 'c', address: '10.0.0.3:1', version: 'v3' },
    ],
  });
  if (!r.ok) throw new Error(r.errors.join());
  return r.value;
}

const rollout = (over: Partial<Rollout>) =>
  ({
    id: 'r1',
    engine: 'calc',
    version: 'v3',
    state: 'progressing',
    step: 0,
    original: { v1: 80, v2: 20 },
    ...over,
  }) as Rollout;

describe('what a data plane falls back to when its overrides expire', () => {
  it("is the versions' weights from before the active rollout: the new version at 0", async () => {
    const store = new MemoryStore();
    expect(baseVersions(store, spec())).toEqual(spec().versions);
    await ROLLOUTS_NS.put(store, [['calc/r1', rollout({})]]);
    expect(baseVersions(store, spec())).toEqual([
      { name: 'v1', weight: 80 },
      { name: 'v2', weight: 20 },
      { name: 'v3', weight: 0 },
    ]);
    // Not begun (waiting for confirm-rollout), or ended: the spec's own.
    await ROLLOUTS_NS.put(store, [['calc/r1', rollout({ step: -1 })]]);
    expect(baseVersions(store, spec())).toEqual(spec().versions);
    await ROLLOUTS_NS.put(store, [['calc/r1', rollout({ state: 'promoted' })]]);
    expect(baseVersions(store, spec())).toEqual(spec().versions);
    // A base that would route nowhere is never served.
    await ROLLOUTS_NS.put(store, [['calc/r1', rollout({ original: {} })]]);
    expect(baseVersions(store, spec())).toEqual(spec().versions);
  });

  it('is served as base clusters, and what the served engine changes as overrides', () => {
    const served = spec();
    const drained: EngineSpec = {
      ...served,
      instances: served.instances.map((i) => (i.id === 'b' ? { ...i, draining: true } : i)),
    };
    const base: EngineSpec = {
      ...served,
      versions: served.versions.map((v) => (v.name === 'v3' ? { ...v, weight: 0 } : v)),
    };
    const content = nerveTtlResources(
      [
        { served: drained, base },
        { served: { ...served, name: 'other' }, base: { ...served, name: 'other' } },
      ],
      () => 'healthy',
    );
    const bases = content.get(ENGINE_CLUSTER_TYPE)!.map((r) => EngineCluster.decode(r.body));
    expect(bases.map((c) => c.name)).toEqual(['calc', 'other']);
    expect(bases[0].endpoints.find((e) => e.id === 'b')?.health).toBe(HealthStatus.HEALTH_STATUS_HEALTHY);
    expect(bases[0].versions.find((v) => v.name === 'v3')?.weight).toBe(0);
    // Only the engine with a change has overrides.
    const overrides = content.get(ENGINE_OVERRIDES_TYPE)!.map((r) => EngineOverrides.decode(r.body));
    expect(overrides).toHaveLength(1);
    expect(overrides[0].engine).toBe('calc');
    expect(overrides[0].endpoints).toEqual([{ id: 'b', draining: true }]);
    expect(overrides[0].versions.find((v) => v.name === 'v3')?.weight).toBe(30);
  });
});
