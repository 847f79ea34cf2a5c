import {
  adaptiveWeightsSchema,
  type InstanceWeight,
  moved,
  nextWeights,
} from '../../src/model/adaptive-weights';
import { analyze, weightsAt } from '../../src/model/rollout';
import { analysisSchema } from '../../src/model/rollout-input';

describe('rollout analysis', () => {
  const a = analysisSchema.parse({ maxErrorRate: 0.05, maxP99Ratio: 1.5, minRequests: 20 });
  const stats = (requests: number, errors: number, p99Ms: number) => ({
    requests,
    errors,
    errorRate: requests ? errors / requests : 0,
    p99Ms,
  });

  it('gives pass, fail, inconclusive and no traffic with their evidence', () => {
    expect(analyze(stats(100, 1, 40), stats(400, 2, 35), a, 60_000).verdict).toBe('pass');
    const errors = analyze(stats(100, 20, 40), stats(400, 0, 35), a, 60_000);
    expect(errors).toMatchObject({ verdict: 'fail' });
    expect(errors.evidence.reason).toBe('error rate 20 % above 5 % (stable 0 %)');
    const slow = analyze(stats(100, 0, 200), stats(400, 0, 50), a, 60_000);
    expect(slow.verdict).toBe('fail');
    expect(slow.evidence).toMatchObject({ p99Ratio: 4 });
    // A ratio of tiny latencies is noise: within p99SlackMs it never fails.
    expect(analyze(stats(100, 0, 3), stats(400, 0, 1), a, 60_000).verdict).toBe('pass');
    expect(analyze(stats(5, 0, 40), stats(400, 0, 35), a, 60_000).verdict).toBe('inconclusive');
    expect(analyze(stats(0, 0, 0), stats(400, 0, 35), a, 60_000).verdict).toBe('no_traffic');
  });

  it('sets the new version at its share, the others in their original proportions', () => {
    const versions = [
      { name: 'v1', weight: 90 },
      { name: 'v0', weight: 10 },
      { name: 'v2', weight: 0 },
    ];
    const original = { v1: 90, v0: 10 };
    const at25 = weightsAt(versions, 'v2', original, 25);
    const total = at25.reduce((n, v) => n + v.weight, 0);
    expect(at25.find((v) => v.name === 'v2')!.weight / total).toBeCloseTo(0.25, 2);
    expect(at25.filter((v) => v.name !== 'v2')).toEqual([
      { name: 'v1', weight: 90 },
      { name: 'v0', weight: 10 },
    ]);
    expect(weightsAt(versions, 'v2', original, 100)).toEqual([
      { name: 'v1', weight: 0 },
      { name: 'v0', weight: 0 },
      { name: 'v2', weight: 100 },
    ]);
    expect(weightsAt(versions, 'v2', original, 0).find((v) => v.name === 'v2')!.weight).toBe(0);
  });

  it('gives a baseline the same share as the canary, the stable versions the rest', () => {
    const versions = [
      { name: 'v1', weight: 100 },
      { name: 'v2', weight: 0 },
      { name: 'v1+baseline', weight: 0 },
    ];
    for (const p of [10, 25, 50]) {
      const w = weightsAt(versions, 'v2', { v1: 100 }, p, 'v1+baseline');
      const total = w.reduce((n, v) => n + v.weight, 0);
      const share = (name: string) => w.find((v) => v.name === name)!.weight / total;
      // Integer weights on the stable versions' scale: within a point of the share.
      expect(Math.abs(share('v2') - p / 100)).toBeLessThan(0.01);
      expect(share('v1+baseline')).toBe(share('v2'));
      expect(Math.abs(share('v1') - (1 - (2 * p) / 100))).toBeLessThan(0.01);
    }
    expect(weightsAt(versions, 'v2', { v1: 100 }, 100, 'v1+baseline')).toEqual([
      { name: 'v1', weight: 0 },
      { name: 'v2', weight: 100 },
      { name: 'v1+baseline', weight: 0 },
    ]);
  });
});

describe('closed-loop weights', () => {
  const policy = adaptiveWeightsSchema.parse({});
  const inputs = (p50Ms: number, errorRate = 0, requests = 100, utilization?: number) => ({
    requests,
    errorRate,
    p50Ms,
    p99Ms: p50Ms * 2,
    inFlight: 1,
    ...(utilization !== undefined && { utilization }),
  });

  function run(
    steps: { id: string; p50: number; err?: number; requests?: number; util?: number }[][],
    p = policy,
  ) {
    let prev = new Map<string, InstanceWeight>();
    return steps.map((step, i) => {
      const next = nextWeights(
        p,
        step.map((s) => ({ id: s.id, configured: 100, inputs: inputs(s.p50, s.err, s.requests, s.util) })),
        prev,
        i * 1_000,
      );
      prev = new Map(next.map((w) => [w.id, w]));
      return Object.fromEntries(next.map((w) => [w.id, w.weight]));
    });
  }

  it('moves a slow instance down in a few intervals, damped, and back up when it recovers', () => {
    const slow = Array.from({ length: 5 }, () => [
      { id: 'a', p50: 30 },
      { id: 'b', p50: 10 },
    ]);
    const fast = Array.from({ length: 6 }, () => [
      { id: 'a', p50: 10 },
      { id: 'b', p50: 10 },
    ]);
    const out = run([...slow, ...fast]);
    const a = out.map((w) => w.a);
    expect(a.slice(0, 5)).toEqual([...a.slice(0, 5)].sort((x, y) => y - x)); // monotone down
    expect(a[4]).toBeLessThanOrEqual(2);
    expect(out.every((w) => w.b === 100)).toBe(true);
    expect(a[10]).toBeGreaterThanOrEqual(90);
  });

  it('ignores noise within the tolerance, penalises errors, holds without calls, keeps pins', () => {
    expect(
      run([
        [
          { id: 'a', p50: 11 },
          { id: 'b', p50: 10 },
        ],
      ])[0],
    ).toEqual({ a: 100, b: 100 });
    // Sub-millisecond medians: 0.9 ms against 0.3 ms is ×3 but within the 1 ms slack, so no signal.
    expect(
      run([
        [
          { id: 'a', p50: 0.9 },
          { id: 'b', p50: 0.3 },
        ],
      ])[0],
    ).toEqual({ a: 100, b: 100 });
    // Reported utilisation: a sampling's difference (1.44 against 1.11, as co-located instances report)
    // is no signal; a real one (0.9 against 0.2) is.
    expect(
      run([
        [
          { id: 'a', p50: 10, util: 1.44 },
          { id: 'b', p50: 10, util: 1.3 },
        ],
      ])[0],
    ).toEqual({ a: 100, b: 100 });
    expect(
      run([
        [
          { id: 'a', p50: 10, util: 0.9 },
          { id: 'b', p50: 10, util: 0.2 },
        ],
      ])[0].a,
    ).toBeLessThan(80);
    // Latency past the slack (5 ms against 1 ms) is a signal.
    expect(
      run([
        [
          { id: 'a', p50: 5 },
          { id: 'b', p50: 1 },
        ],
      ])[0].a,
    ).toBeLessThan(50);
    expect(
      run([
        [
          { id: 'a', p50: 10, err: 0.2 },
          { id: 'b', p50: 10 },
        ],
      ])[0].a,
    ).toBeLessThan(60);
    const held = run([
      [
        { id: 'a', p50: 30 },
        { id: 'b', p50: 10 },
      ],
      [
        { id: 'a', p50: 0, requests: 0 },
        { id: 'b', p50: 10 },
      ],
    ]);
    expect(held[1].a).toBe(held[0].a);
    const pinned = adaptiveWeightsSchema.parse({ pinned: { a: 7 } });
    expect(
      run(
        [
          [
            { id: 'a', p50: 10 },
            { id: 'b', p50: 30 },
          ],
        ],
        pinned,
      )[0].a,
    ).toBe(7);
  });

  it('pushes only past the deadband', () => {
    const prev = new Map([['a', { weight: 100 } as InstanceWeight]]);
    expect(moved(prev, [{ id: 'a', weight: 97 } as InstanceWeight])).toBe(false);
    expect(moved(prev, [{ id: 'a', weight: 90 } as InstanceWeight])).toBe(true);
  });
});
