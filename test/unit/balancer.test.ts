import { EngineCluster, HealthStatus } from '../../gen/nerve/discovery/v1/resources';
import { defaultPolicy, STRATEGIES } from '../../src/model/policy';
import { selectEndpoints } from '../../src/router/balancer/endpoints';
import { getStrategy, missingStrategies } from '../../src/router/balancer/registry';
import { InstanceStats } from '../../src/router/stats/instance-stats';

const {
  HEALTH_STATUS_HEALTHY: HEALTHY,
  HEALTH_STATUS_UNHEALTHY: UNHEALTHY,
  HEALTH_STATUS_DRAINING: DRAINING,
  HEALTH_STATUS_UNKNOWN: UNKNOWN,
} = HealthStatus;

function cluster(
  endpoints: Partial<EngineCluster['endpoints'][number]>[],
  versions = [{ name: 'v1', weight: 100 }],
): EngineCluster {
  return EngineCluster.fromPartial({
    name: 'e',
    versions,
    endpoints: endpoints.map((e, i) => ({
      id: `i${i}`,
      address: `127.0.0.1:${1000 + i}`,
      version: 'v1',
      weight: 100,
      health: HEALTHY,
      priority: 0,
      ...e,
    })),
    policy: defaultPolicy(),
  });
}

function distribution(c: EngineCluster, picks: number): Record<string, number> {
  const sel = selectEndpoints(c, (id) => new InstanceStats('e', id));
  const picker = getStrategy('round_robin')!.build(sel.endpoints, sel.reason);
  const counts: Record<string, number> = {};
  for (let i = 0; i < picks; i++) {
    const e = picker.pick();
    if (e) counts[e.id] = (counts[e.id] ?? 0) + 1;
  }
  return counts;
}

describe('endpoint selection and round robin', () => {
  it('registers a picker for every strategy the control plane accepts', () => {
    expect(missingStrategies()).toEqual([]);
    for (const s of STRATEGIES) expect(getStrategy(s)).toBeDefined();
  });

  it('rotates evenly over equal endpoints', () => {
    expect(distribution(cluster([{}, {}, {}]), 3000)).toEqual({ i0: 1000, i1: 1000, i2: 1000 });
  });

  it('follows instance weights exactly and skips weight 0', () => {
    expect(distribution(cluster([{ weight: 300 }, { weight: 100 }, { weight: 0 }]), 4000)).toEqual({
      i0: 3000,
      i1: 1000,
    });
  });

  it('splits traffic by version weight, then by instance weight within a version', () => {
    const c = cluster(
      [{ version: 'v1' }, { version: 'v1' }, { version: 'v2' }],
      [
        { name: 'v1', weight: 90 },
        { name: 'v2', weight: 10 },
      ],
    );
    expect(distribution(c, 1000)).toEqual({ i0: 450, i1: 450, i2: 100 });
  });

  it('gives a version with nothing routable no traffic and its share to the others', () => {
    const c = cluster(
      [{ version: 'v1' }, { version: 'v2', health: UNHEALTHY }],
      [
        { name: 'v1', weight: 90 },
        { name: 'v2', weight: 10 },
      ],
    );
    expect(distribution(c, 100)).toEqual({ i0: 100 });
  });

  it('routes to healthy and unknown endpoints only', () => {
    expect(
      distribution(cluster([{ health: UNHEALTHY }, { health: DRAINING }, { health: UNKNOWN }, {}]), 100),
    ).toEqual({ i2: 50, i3: 50 });
  });

  it('uses the lowest priority tier that has a routable endpoint', () => {
    expect(distribution(cluster([{ priority: 1 }, { priority: 0 }]), 10)).toEqual({ i1: 10 });
    expect(distribution(cluster([{ priority: 1 }, { priority: 0, health: UNHEALTHY }]), 10)).toEqual({
      i0: 10,
    });
  });

  it('explains why nothing is routable', () => {
    const sel = selectEndpoints(
      cluster([{ health: UNHEALTHY }, { health: DRAINING }, { weight: 0 }]),
      (id) => new InstanceStats('e', id),
    );
    expect(sel.endpoints).toEqual([]);
    expect(sel.reason).toBe('engine "e" has no healthy instance (1 unhealthy, 1 draining, 1 weight 0)');
    expect(selectEndpoints(cluster([]), (id) => new InstanceStats('e', id)).reason).toBe(
      'engine "e" has no healthy instance (no instances)',
    );
  });
});
