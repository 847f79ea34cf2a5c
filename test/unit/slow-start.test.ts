import { EngineCluster, HealthStatus } from '../../gen/nerve/discovery/v1/resources';
import { encodeOrca, ORCA_TRAILER } from '../../src/model/orca';
import { defaultPolicy } from '../../src/model/policy';
import { parseEngineSpec } from '../../src/model/validate';
import { slowStartFactor } from '../../src/router/balancer/slow-start';
import { RoutingState } from '../../src/router/proxy/routing-state';
import { noteOrca } from '../../src/router/stats/instance-stats';

const POLICY = { windowMs: 10_000, aggression: 1, minWeightPercent: 10 };

function cluster(ids: string[], health: Record<string, HealthStatus> = {}): EngineCluster {
  return EngineCluster.fromPartial({
    name: 'e',
    versions: [{ name: 'v1', weight: 100 }],
    endpoints: ids.map((id, i) => ({
      id,
      address: `127.0.0.1:${1000 + i}`,
      version: 'v1',
      weight: 100,
      health: health[id] ?? HealthStatus.HEALTH_STATUS_HEALTHY,
    })),
    policy: { ...defaultPolicy(), slowStart: POLICY },
  });
}

function shares(state: RoutingState, picks = 2_000): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < picks; i++) {
    const id = state.engine('e')!.picker.pick()!.id;
    out[id] = (out[id] ?? 0) + 1 / picks;
  }
  return out;
}

describe('slow start (Envoy slow_start_config)', () => {
  it('ramps by (elapsed / window) ^ (1 / aggression), never below minWeightPercent', () => {
    expect(slowStartFactor(POLICY, 0)).toBe(0.1);
    expect(slowStartFactor(POLICY, 5_000)).toBeCloseTo(0.5);
    expect(slowStartFactor({ ...POLICY, aggression: 2 }, 2_500)).toBeCloseTo(0.5); // sqrt(0.25)
    expect(slowStartFactor(POLICY, 10_000)).toBe(1);
    expect(slowStartFactor({ ...POLICY, minWeightPercent: 0 }, 100)).toBeCloseTo(0.01);
  });

  it('is validated in the policy, with Envoy defaults', () => {
    const ok = parseEngineSpec({ name: 'e', policy: { slowStart: { windowMs: 30_000 } } });
    expect(ok.ok && ok.value.policy.slowStart).toEqual({
      windowMs: 30_000,
      aggression: 1,
      minWeightPercent: 10,
    });
    const bad = parseEngineSpec({ name: 'e', policy: { slowStart: { windowMs: 0 } } });
    expect(bad.ok ? [] : bad.errors).toEqual([expect.stringContaining('policy.slowStart.windowMs')]);
  });

  it('gives an instance that joins a serving engine a small share, growing to an equal one', () => {
    jest.useFakeTimers();
    const state = new RoutingState();
    try {
      state.applyClusters([cluster(['a', 'b', 'c'])]);
      expect(shares(state).a).toBeCloseTo(1 / 3, 1); // the engine's first instances do not ramp
      state.applyClusters([cluster(['a', 'b', 'c', 'd'])]);
      // d at 10 % of its weight: 0.1 / 3.1 of the calls.
      expect(shares(state).d).toBeCloseTo(0.1 / 3.1, 2);
      // Half way through the window (the ramp's rebuilds run on the fake clock, every window / 20).
      jest.advanceTimersByTime(5_000);
      expect(shares(state).d).toBeCloseTo(0.5 / 3.5, 2);
      jest.advanceTimersByTime(5_000);
      expect(shares(state).d).toBeCloseTo(0.25, 2);
      expect(state.instanceStats('e', 'd')!.rampStartedAt).toBe(-1);
    } finally {
      jest.useRealTimers();
    }
  });

  it('ramps an instance back from failing health checks, and ends the ramp when it reports warm', () => {
    jest.useFakeTimers();
    const state = new RoutingState();
    try {
      state.applyClusters([cluster(['a', 'b'], { b: HealthStatus.HEALTH_STATUS_UNHEALTHY })]);
      state.applyClusters([cluster(['a', 'b'])]);
      expect(shares(state).b).toBeCloseTo(0.1 / 1.1, 2);
      const warm = encodeOrca({ namedMetrics: { warm: 1 } }).toString('base64');
      noteOrca(state.instanceStats('e', 'b')!, [ORCA_TRAILER, warm]);
      jest.advanceTimersByTime(500); // the next ramp step reads it
      expect(shares(state).b).toBeCloseTo(0.5, 2);
    } finally {
      jest.useRealTimers();
    }
  });
});
