import { type EngineCluster, HealthStatus } from '../../gen/nerve/discovery/v1/resources';
import { applyOverrides, overridesOf } from '../../src/model/overrides';

const H = HealthStatus.HEALTH_STATUS_HEALTHY;
const D = HealthStatus.HEALTH_STATUS_DRAINING;

function cluster(over: Partial<EngineCluster> = {}): EngineCluster {
  return {
    name: 'calc',
    versions: [
      { name: 'v1', weight: 100 },
      { name: 'v2', weight: 0 },
    ],
    endpoints: [
      { id: 'a', address: '10.0.0.1:1', version: 'v1', weight: 10, health: H, priority: 0 },
      {
        id: 'b',
        address: '10.0.0.2:1',
        version: 'v1',
        weight: 10,
        health: HealthStatus.HEALTH_STATUS_UNHEALTHY,
        priority: 0,
      },
      { id: 'c', address: '10.0.0.3:1', version: 'v2', weight: 10, health: H, priority: 0 },
    ],
    policy: undefined,
    services: [],
    coldStart: undefined,
    canary: undefined,
    ...over,
  };
}

/** The contract: the base with the overrides of effective over it is effective. */
describe('runtime overrides (xDS resource TTL)', () => {
  const base = cluster();
  const cases: [string, EngineCluster][] = [
    ['a drain', cluster({ endpoints: base.endpoints.map((e) => (e.id === 'a' ? { ...e, health: D } : e)) })],
    [
      'a drain of an unhealthy instance',
      cluster({ endpoints: base.endpoints.map((e) => (e.id === 'b' ? { ...e, health: D } : e)) }),
    ],
    [
      'a pinned weight',
      cluster({ endpoints: base.endpoints.map((e) => (e.id === 'c' ? { ...e, weight: 0 } : e)) }),
    ],
    [
      "a rollout's weights and canary route",
      cluster({
        versions: [
          { name: 'v1', weight: 90 },
          { name: 'v2', weight: 10 },
        ],
        canary: { version: 'v2', match: [], mirrorPercent: 20, rollout: 'r1' },
      }),
    ],
    [
      'all at once',
      cluster({
        versions: [
          { name: 'v1', weight: 50 },
          { name: 'v2', weight: 50 },
        ],
        endpoints: base.endpoints.map((e) => ({ ...e, weight: 7, health: e.id === 'c' ? D : e.health })),
      }),
    ],
  ];
  it.each(cases)('round-trips %s', (_what, effective) => {
    const o = overridesOf(effective, base);
    expect(o).toBeDefined();
    expect(o!.engine).toBe('calc');
    expect(applyOverrides(base, o)).toEqual(effective);
  });

  it('has nothing to say of an engine served as configured', () => {
    expect(overridesOf(cluster(), base)).toBeUndefined();
    expect(applyOverrides(base, undefined)).toBe(base);
  });

  it('carries only what changed: the drained endpoint, not the others', () => {
    const o = overridesOf(cases[0][1], base)!;
    expect(o.endpoints).toEqual([{ id: 'a', draining: true, weight: undefined }]);
    expect(o.versions).toEqual([]);
  });

  it('ignores overrides of endpoints the base no longer has', () => {
    const o = overridesOf(cases[0][1], base)!;
    const smaller = cluster({ endpoints: base.endpoints.filter((e) => e.id !== 'a') });
    expect(applyOverrides(smaller, o)).toEqual(smaller);
  });
});
