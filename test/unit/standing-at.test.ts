import type { HealthTransition } from '../../src/control-plane/health/health-history';
import { standingsAt } from '../../src/control-plane/explain/standing-at';

const t = (atMs: number, instance: string, from: string, to: string, extra: Partial<HealthTransition> = {}) =>
  ({
    at: new Date(atMs).toISOString(),
    atMs,
    instance,
    from,
    to,
    reason: `${from} to ${to}`,
    ...extra,
  }) as HealthTransition;

const HISTORY: HealthTransition[] = [
  t(1_000, 'a', 'unknown', 'healthy'),
  t(1_000, 'b', 'unknown', 'healthy'),
  t(2_000, 'b', 'serving', 'draining', {
    kind: 'drain',
    actor: 'alice',
    reason: 'drained by alice: no new calls',
  }),
  t(3_000, 'a', 'in_rotation', 'ejected', { kind: 'ejection', actor: 'r1', reason: 'outlier detection' }),
  t(4_000, 'a', 'healthy', 'unhealthy', { reason: 'grpc.health.v1 NOT_SERVING' }),
  t(5_000, 'a', 'unhealthy', 'healthy'),
  t(6_000, 'b', 'draining', 'serving', { kind: 'drain', actor: 'bob' }),
  t(7_000, 'a', 'ejected', 'in_rotation', { kind: 'ejection', actor: 'r1' }),
  t(8_000, 'a', 'circuit_closed', 'circuit_open', { kind: 'circuit', actor: 'routers', reason: 'failing' }),
];

const at = (ms: number) =>
  Object.fromEntries(standingsAt(HISTORY, ['a', 'b'], ms).map((s) => [s.id, [s.inRotation, s.reasons]]));

describe('standings at a past moment, from the health history', () => {
  it('a drain and an ejection are found at their times, and not before', () => {
    expect(at(1_999)).toEqual({ a: [true, []], b: [true, []] });
    expect(at(2_000).b).toEqual([
      false,
      ['drained since 1970-01-01T00:00:02.000Z by alice: drained by alice: no new calls'],
    ]);
    expect(at(2_999).a).toEqual([true, []]);
    // One router's ejection: out of that router's rotation, in everyone else's.
    expect(at(3_000).a).toEqual([
      true,
      ['ejected by router r1 since 1970-01-01T00:00:03.000Z by r1: outlier detection'],
    ]);
  });

  it('what ended before the moment is not a reason; the last transition of each kind decides', () => {
    expect(at(4_500).a).toEqual([
      false,
      [
        'unhealthy since 1970-01-01T00:00:04.000Z: grpc.health.v1 NOT_SERVING',
        'ejected by router r1 since 1970-01-01T00:00:03.000Z by r1: outlier detection',
      ],
    ]);
    expect(at(6_500)).toEqual({
      a: [true, ['ejected by router r1 since 1970-01-01T00:00:03.000Z by r1: outlier detection']],
      b: [true, []],
    });
    expect(at(7_500).a).toEqual([true, []]);
    expect(at(9_000).a).toEqual([false, ['circuit open since 1970-01-01T00:00:08.000Z by routers: failing']]);
  });
});
