import { HealthStatus, type EngineCluster } from '../../gen/nerve/discovery/v1/resources';
import { ExpiringResources } from '../../src/router/xds/expiring-resources';
import { ClusterOverlay } from '../../src/router/resources/cluster-overlay';

describe('ExpiringResources (the router side of resource TTLs)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('expires a resource its TTL after the last time it was heard of, heartbeats included', () => {
    const expired: string[] = [];
    const held = new ExpiringResources<string>((name) => expired.push(name));
    expect(held.accept([{ name: 'calc', version: 'v1', value: 'drain a', ttlMs: 1_000 }])).toBe(true);
    jest.advanceTimersByTime(900);
    // A heartbeat: the same version, the value held. Nothing changed, the timer starts again.
    expect(held.heldAt('calc', 'v1')).toBe('drain a');
    expect(held.accept([{ name: 'calc', version: 'v1', value: 'drain a', ttlMs: 1_000 }])).toBe(false);
    jest.advanceTimersByTime(900);
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(100);
    expect(expired).toEqual(['calc']);
    expect(held.size).toBe(0);
    expect(held.heldAt('calc', 'v1')).toBeUndefined();
  });

  it('lets go of what a response no longer carries, and keeps what has no TTL', () => {
    const expired: string[] = [];
    const held = new ExpiringResources<string>((name) => expired.push(name));
    held.accept([
      { name: 'a', version: '1', value: 'A', ttlMs: 500 },
      { name: 'b', version: '1', value: 'B' },
    ]);
    expect(held.heldAt('b', '2')).toBeUndefined();
    expect(held.accept([{ name: 'b', version: '1', value: 'B' }])).toBe(true);
    jest.advanceTimersByTime(10_000);
    expect(expired).toEqual([]); // a's timer went with it; b never expires
    expect(held.size).toBe(1);
    held.stop();
    expect(held.size).toBe(0);
  });
});

describe('ClusterOverlay (base clusters and their overrides)', () => {
  const base: EngineCluster = {
    name: 'calc',
    versions: [
      { name: 'v1', weight: 100 },
      { name: 'v2', weight: 0 },
    ],
    endpoints: [
      {
        id: 'a',
        address: '10.0.0.1:1',
        version: 'v1',
        weight: 10,
        health: HealthStatus.HEALTH_STATUS_HEALTHY,
        priority: 0,
      },
      {
        id: 'b',
        address: '10.0.0.2:1',
        version: 'v2',
        weight: 10,
        health: HealthStatus.HEALTH_STATUS_HEALTHY,
        priority: 0,
      },
    ],
    policy: { strategy: 'round_robin' } as EngineCluster['policy'],
    services: [],
    coldStart: undefined,
    canary: undefined,
  };

  it('routes by the merge, by the base alone once the overrides go, and refuses a merge that cannot route', () => {
    const applied: (readonly EngineCluster[])[] = [];
    const refused: string[] = [];
    const overlay = new ClusterOverlay(
      (c) => applied.push(c),
      (engine, problem) => refused.push(`${engine}: ${problem}`),
    );
    overlay.setBases([base]);
    overlay.setOverrides([
      { engine: 'calc', versions: [], endpoints: [{ id: 'a', draining: true }], canary: undefined },
    ]);
    expect(applied.at(-1)![0].endpoints[0].health).toBe(HealthStatus.HEALTH_STATUS_DRAINING);
    expect(overlay.overridden()).toEqual(['calc']);
    overlay.setOverrides([]);
    expect(applied.at(-1)![0]).toBe(base);
    // Versions that leave an endpoint's version undeclared: the base stands, and the reason is told.
    overlay.setOverrides([
      { engine: 'calc', versions: [{ name: 'v1', weight: 1 }], endpoints: [], canary: undefined },
    ]);
    expect(applied.at(-1)![0]).toBe(base);
    expect(refused).toEqual([expect.stringMatching(/^calc: .*endpoint "b" has version "v2"/)]);
  });
});
