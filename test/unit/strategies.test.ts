import { EngineCluster, HealthStatus } from '../../gen/nerve/discovery/v1/resources';
import { defaultPolicy } from '../../src/model/policy';
import { selectEndpoints } from '../../src/router/balancer/endpoints';
import type { RoutableEndpoint } from '../../src/router/balancer/picker';
import { getStrategy } from '../../src/router/balancer/registry';
import { InstanceStats } from '../../src/router/stats/instance-stats';

function endpoints(weights: number[]): RoutableEndpoint[] {
  const c = EngineCluster.fromPartial({
    name: 'e',
    versions: [{ name: 'v1', weight: 100 }],
    endpoints: weights.map((weight, i) => ({
      id: `i${i}`,
      address: `127.0.0.1:${1000 + i}`,
      version: 'v1',
      weight,
      health: HealthStatus.HEALTH_STATUS_HEALTHY,
    })),
    policy: defaultPolicy(),
  });
  return selectEndpoints(c, (id) => new InstanceStats('e', id)).endpoints;
}

function counts(strategy: string, eps: RoutableEndpoint[], n: number): Record<string, number> {
  const picker = getStrategy(strategy)!.build(eps, '');
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = picker.pick()!.id;
    out[id] = (out[id] ?? 0) + 1;
  }
  return out;
}

describe('peak-EWMA latency and failure signals', () => {
  it('jumps to a slower sample at once and decays toward faster ones over seconds', () => {
    const s = new InstanceStats('e', 'a');
    expect(s.latencyEwmaMs).toBe(30); // unmeasured: Linkerd's default RTT
    s.started(0);
    s.finished(0, 200, 1_000);
    expect(s.latencyEwmaMs).toBe(200);
    s.started(0);
    s.finished(0, 5, 1_100); // 100 ms later: barely decayed
    expect(s.latencyEwmaMs).toBeGreaterThan(195);
    s.started(0);
    s.finished(0, 5, 31_100); // 30 s later: mostly the new sample
    expect(s.latencyEwmaMs).toBeLessThan(15);
  });

  it('counts instance failures, not caller errors, in the failure EWMA', () => {
    const s = new InstanceStats('e', 'a');
    for (let i = 0; i < 20; i++) {
      s.started(0);
      s.finished(3, 1); // INVALID_ARGUMENT: the caller's fault
    }
    expect(s.failureEwma).toBe(0);
    for (let i = 0; i < 20; i++) {
      s.started(0);
      s.finished(14, 1); // UNAVAILABLE
    }
    expect(s.failureEwma).toBeGreaterThan(0.85);
  });
});

describe('strategies', () => {
  it('random follows weights within ±5 % over 5,000 picks', () => {
    const c = counts('random', endpoints([100, 300, 600]), 5000);
    expect(Math.abs(c.i0 / 5000 - 0.1)).toBeLessThan(0.05);
    expect(Math.abs(c.i1 / 5000 - 0.3)).toBeLessThan(0.05);
    expect(Math.abs(c.i2 / 5000 - 0.6)).toBeLessThan(0.05);
  });

  it('least_response_time shifts load away from a slow instance', () => {
    const eps = endpoints([100, 100, 100]);
    eps[0].stats.latencyEwmaMs = 250;
    eps[1].stats.latencyEwmaMs = 5;
    eps[2].stats.latencyEwmaMs = 5;
    const c = counts('least_response_time', eps, 3000);
    expect(c.i0 ?? 0).toBe(0);
    expect(Math.abs(c.i1 - c.i2)).toBeLessThan(300);
  });

  it('least_response_time weighs latency by calls in flight', () => {
    const eps = endpoints([100, 100]);
    eps[0].stats.latencyEwmaMs = 10;
    eps[0].stats.inFlight = 9; // 10 × 10 = 100
    eps[1].stats.latencyEwmaMs = 40; // 40 × 1 = 40
    expect(getStrategy('least_response_time')!.build(eps, '').pick()!.id).toBe('i1');
  });

  it('auto avoids an instance that fails its calls even when it is fastest', () => {
    const eps = endpoints([100, 100]);
    eps[0].stats.latencyEwmaMs = 2;
    eps[0].stats.failureEwma = 0.9; // 2 × 19 = 38
    eps[1].stats.latencyEwmaMs = 20; // 20
    expect(getStrategy('auto')!.build(eps, '').pick()!.id).toBe('i1');
    eps[0].stats.failureEwma = 0; // recovered: fastest wins
    expect(getStrategy('auto')!.build(eps, '').pick()!.id).toBe('i0');
  });
});
