import { EngineCluster, HealthStatus } from '../../gen/nerve/discovery/v1/resources';
import { defaultPolicy, STRATEGIES } from '../../src/model/policy';
import { selectEndpoints } from '../../src/router/balancer/endpoints';
import { getStrategy, missingStrategies } from '../../src/router/balancer/registry';
import { RoutingState } from '../../src/router/proxy/routing-state';
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

  it('spills traffic to the next tier as a tier loses health (Envoy overprovisioning 1.4)', () => {
    // Tier 0: 2 of 4 healthy → 1.4 × 50 % = 70 %; tier 1 takes the remaining 30 %.
    const half = cluster([
      {},
      {},
      { health: UNHEALTHY },
      { health: UNHEALTHY },
      { priority: 1 },
      { priority: 1 },
    ]);
    const c = distribution(half, 1000);
    expect((c.i0 ?? 0) + (c.i1 ?? 0)).toBe(700);
    expect((c.i4 ?? 0) + (c.i5 ?? 0)).toBe(300);
    // 3 of 4 healthy → 1.4 × 75 % ≥ 100 %: tier 0 keeps everything.
    const mostly = cluster([{}, {}, {}, { health: UNHEALTHY }, { priority: 1 }]);
    expect(distribution(mostly, 300)).toEqual({ i0: 100, i1: 100, i2: 100 });
    // A draining instance is out by choice: it does not push traffic to the backup tier.
    const drained = cluster([{}, { health: DRAINING }, { priority: 1 }]);
    expect(distribution(drained, 100)).toEqual({ i0: 100 });
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

describe('sticky (ring hash)', () => {
  const build = (n: number) => {
    const c = cluster(Array.from({ length: n }, () => ({})));
    const sel = selectEndpoints(c, (id) => new InstanceStats('e', id));
    return getStrategy('sticky')!.build(sel.endpoints, sel.reason);
  };
  const keys = Array.from({ length: 5000 }, (_, i) => `session-${i}`);

  it('sends a session key to the same endpoint every time', () => {
    const picker = build(4);
    for (const k of keys.slice(0, 200)) expect(picker.pick(k)!.id).toBe(picker.pick(k)!.id);
  });

  it('spreads keys roughly by weight', () => {
    const counts: Record<string, number> = {};
    const picker = build(4);
    for (const k of keys) counts[picker.pick(k)!.id] = (counts[picker.pick(k)!.id] ?? 0) + 1;
    for (const n of Object.values(counts)) expect(Math.abs(n - 1250)).toBeLessThan(1250 * 0.3);
  });

  it('moves only about 1/N of the keys when an endpoint is added', () => {
    const before = build(4);
    const after = build(5);
    const moved = keys.filter((k) => before.pick(k)!.id !== after.pick(k)!.id).length / keys.length;
    expect(moved).toBeGreaterThan(0.1);
    expect(moved).toBeLessThan(0.3); // ideal 1/5 = 0.2
    // Every moved key moved to the new endpoint.
    expect(keys.every((k) => before.pick(k)!.id === after.pick(k)!.id || after.pick(k)!.id === 'i4')).toBe(
      true,
    );
  });

  it('balances calls without a session key by round robin', () => {
    const picker = build(2);
    const ids = Array.from({ length: 4 }, () => picker.pick()!.id);
    expect(ids.sort()).toEqual(['i0', 'i0', 'i1', 'i1']);
  });
});

describe('routing state', () => {
  it('keeps an engine picker (and its rotation) when an update leaves the engine unchanged', () => {
    const state = new RoutingState();
    const a = { ...cluster([{}, {}]), name: 'a' };
    const b = { ...cluster([{}]), name: 'b' };
    state.applyClusters([a, b]);
    const picker = state.engine('a')!.picker;
    expect(picker.pick()!.id).toBe('i0');
    state.applyClusters([
      a,
      { ...b, endpoints: [...b.endpoints, { ...b.endpoints[0], id: 'new', address: '127.0.0.1:9' }] },
    ]);
    expect(state.engine('a')!.picker).toBe(picker);
    expect(state.engine('a')!.picker.pick()!.id).toBe('i1');
    expect(state.engine('b')!.cluster.endpoints).toHaveLength(2);
  });
});

describe('least_request (power of two choices)', () => {
  it('sends new calls away from the endpoint with calls in flight', () => {
    const sel = selectEndpoints(cluster([{}, {}, {}]), (id) => new InstanceStats('e', id));
    sel.endpoints[0].stats.inFlight = 50; // a slow instance piling up calls
    const picker = getStrategy('least_request')!.build(sel.endpoints, sel.reason);
    const counts: Record<string, number> = {};
    for (let i = 0; i < 3000; i++) {
      const e = picker.pick()!;
      counts[e.id] = (counts[e.id] ?? 0) + 1;
    }
    expect(counts.i0 ?? 0).toBe(0); // any pair including i0 has a less loaded partner
    expect(Math.abs(counts.i1 - counts.i2)).toBeLessThan(300);
  });

  it('weighs in-flight calls by endpoint weight', () => {
    const sel = selectEndpoints(
      cluster([{ weight: 300 }, { weight: 100 }]),
      (id) => new InstanceStats('e', id),
    );
    sel.endpoints[0].stats.inFlight = 2; // 2/0.75 < 1/0.25
    sel.endpoints[1].stats.inFlight = 1;
    expect(getStrategy('least_request')!.build(sel.endpoints, sel.reason).pick()!.id).toBe('i0');
  });
});

describe('passive ejection', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  const ids = (state: RoutingState) => {
    const seen = new Set<string>();
    for (let i = 0; i < 30; i++) seen.add(state.engine('e')!.picker.pick()!.id);
    return [...seen].sort();
  };

  it('stops picking an instance after a connection failure, for 2 s doubling per ejection in a row', () => {
    const state = new RoutingState();
    state.applyClusters([cluster([{}, {}, {}])]);
    state.eject('e', 'i1');
    expect(ids(state)).toEqual(['i0', 'i2']);
    jest.advanceTimersByTime(2_001);
    expect(ids(state)).toEqual(['i0', 'i1', 'i2']);
    state.eject('e', 'i1'); // again, no success in between: 4 s
    jest.advanceTimersByTime(2_001);
    expect(ids(state)).toEqual(['i0', 'i2']);
    jest.advanceTimersByTime(2_000);
    expect(ids(state)).toEqual(['i0', 'i1', 'i2']);
  });

  it('ejects at most 10 % of an engine at once (at least one instance), so never all of it', () => {
    const state = new RoutingState();
    state.applyClusters([cluster([{}, {}])]);
    state.eject('e', 'i0');
    state.eject('e', 'i1'); // over the cap: stays in
    expect(ids(state)).toEqual(['i1']);
  });
});
