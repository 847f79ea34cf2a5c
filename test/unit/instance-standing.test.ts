import { CircuitState, EngineCluster, HealthStatus } from '../../gen/nerve/discovery/v1/resources';
import { defaultPolicy } from '../../src/model/policy';
import { instanceStandings } from '../../src/router/explain/instance-standing';
import { InstanceStats } from '../../src/router/stats/instance-stats';

const NOW = 100_000;

function cluster(health: Record<string, HealthStatus>, weights: Record<string, number> = {}): EngineCluster {
  return EngineCluster.fromPartial({
    name: 'e',
    versions: [{ name: 'v1', weight: 100 }],
    endpoints: Object.keys(health).map((id, i) => ({
      id,
      address: `127.0.0.1:${1000 + i}`,
      version: 'v1',
      weight: weights[id] ?? 100,
      health: health[id],
    })),
    policy: { ...defaultPolicy(), slowStart: { windowMs: 10_000, aggression: 1, minWeightPercent: 10 } },
  });
}

describe('instance standings: why each instance is out of rotation, or below its share', () => {
  it('names each exclusion exactly: draining, ejected (with the detector’s words), open circuit', () => {
    const ejected = new InstanceStats('e', 'ejected');
    ejected.ejectedUntil = NOW + 4_200;
    ejected.ejectionReason = "success rate 71 % far below its peers'";
    const standings = instanceStandings({
      cluster: cluster({
        ok: HealthStatus.HEALTH_STATUS_HEALTHY,
        drained: HealthStatus.HEALTH_STATUS_DRAINING,
        ejected: HealthStatus.HEALTH_STATUS_HEALTHY,
        broken: HealthStatus.HEALTH_STATUS_HEALTHY,
        sick: HealthStatus.HEALTH_STATUS_UNHEALTHY,
      }),
      inRotation: new Set(['ok']),
      stats: (id) => (id === 'ejected' ? ejected : undefined),
      breaker: (id) =>
        id === 'broken'
          ? { state: CircuitState.CIRCUIT_STATE_OPEN, reason: 'failure rate 60 % ≥ 50 %' }
          : undefined,
      now: NOW,
    });
    expect(Object.fromEntries(standings.map((s) => [s.id, [s.inRotation, s.reasons]]))).toEqual({
      ok: [true, []],
      drained: [false, ['draining']],
      ejected: [false, ["ejected for 4200 ms: success rate 71 % far below its peers'"]],
      broken: [false, ['circuit open: failure rate 60 % ≥ 50 %']],
      sick: [false, ['unhealthy']],
    });
  });

  it('an instance in rotation below its share: slow start, a half-open circuit; weight 0 is out by choice', () => {
    const ramping = new InstanceStats('e', 'new');
    ramping.rampStartedAt = NOW - 3_000; // 3 s of a 10 s linear window
    const standings = instanceStandings({
      cluster: cluster(
        {
          new: HealthStatus.HEALTH_STATUS_HEALTHY,
          trial: HealthStatus.HEALTH_STATUS_HEALTHY,
          parked: HealthStatus.HEALTH_STATUS_HEALTHY,
          spare: HealthStatus.HEALTH_STATUS_HEALTHY,
        },
        { parked: 0 },
      ),
      inRotation: new Set(['new', 'trial']),
      stats: (id) => (id === 'new' ? ramping : undefined),
      breaker: (id) =>
        id === 'trial' ? { state: CircuitState.CIRCUIT_STATE_HALF_OPEN, reason: '' } : undefined,
      now: NOW,
    });
    expect(standings.map((s) => s.reasons)).toEqual([
      ['slow start at 30 %'],
      ['circuit half-open: trial calls only'],
      ['weight 0'],
      // Healthy, weighted, yet not chosen: a lower priority tier while the one above carries the traffic.
      ['its priority tier takes no traffic'],
    ]);
  });
});
