import { fillQuery } from '../../src/control-plane/rollouts/prometheus-metrics';
import {
  applyFailureLimits,
  type Evidence,
  judgeMetric,
  type Rollout,
  withMetrics,
} from '../../src/model/rollout';
import { type Metric, metricSchema } from '../../src/model/rollout-input';
import { parseCondition } from '../../src/model/rollout-condition';

const m = (thresholdRange: Metric['thresholdRange'], more: Partial<Metric> = {}): Metric => ({
  name: 'm',
  prometheus: { address: 'http://prom:9090', query: 'q' },
  thresholdRange,
  failureLimit: 0,
  ...more,
});
const evidence: Evidence = {
  canary: { requests: 0, errors: 0, errorRate: 0, p99Ms: 0 },
  stable: { requests: 0, errors: 0, errorRate: 0, p99Ms: 0 },
  p99Ratio: null,
  intervalMs: 1_000,
  reason: 'built in',
};

describe('rollout metrics from Prometheus (pure rules)', () => {
  it('judges a value against its range, and no data as inconclusive', () => {
    expect(judgeMetric(m({ min: 1 }), [0.5]).verdict).toBe('fail');
    expect(judgeMetric(m({ max: 1 }), [2]).reason).toBe('m 2 above max 1');
    expect(judgeMetric(m({ min: 0, max: 1 }), [1]).verdict).toBe('pass');
    expect(judgeMetric(m({ max: 1 }), null)).toMatchObject({ verdict: 'inconclusive', reason: 'm: no data' });
  });

  it('fails a check on a failing metric, waits on one without data, else keeps the built-in verdict', () => {
    const fail = judgeMetric(m({ max: 1 }), [2]);
    const none = judgeMetric(m({ max: 1 }), null);
    const pass = judgeMetric(m({ max: 1 }), [0]);
    expect(withMetrics('pass', evidence, [pass, fail]).verdict).toBe('fail');
    expect(withMetrics('pass', evidence, [pass, none]).verdict).toBe('inconclusive');
    expect(withMetrics('no_traffic', evidence, [none]).verdict).toBe('inconclusive');
    expect(withMetrics('fail', evidence, [none]).verdict).toBe('fail');
    expect(withMetrics('pass', evidence, [pass])).toMatchObject({
      verdict: 'pass',
      evidence: { metrics: [pass] },
    });
    expect(withMetrics('fail', evidence, [fail]).evidence.reason).toBe('built in; m 2 above max 1');
  });

  it("evaluates Argo's conditions over the query's samples", () => {
    const c = (src: string, ...values: number[]) => parseCondition(src)(values);
    expect(c('result >= 0.95', 0.96)).toBe(true);
    expect(c('result[0] < 0.5 || result[0] > 2', 3)).toBe(true);
    expect(c('result[0] < 0.5 or result[0] > 2', 1)).toBe(false);
    expect(c('result[1] > -1 && not (result[0] == 4)', 3, 0)).toBe(true);
    expect(c('result[2] > 0', 1)).toBe(false); // past the end: NaN, and NaN compares false
    expect(c('isNaN(result[2])', 1)).toBe(true);
    expect(c('!(result != 1)', 1)).toBe(true);
    expect(c('true', 1)).toBe(true);
    for (const bad of [
      'result',
      'result >',
      '> 1',
      'result >= 1 &&',
      'len(result) > 0',
      'result[x] > 1',
      '(result > 1',
    ])
      expect(() => parseCondition(bad)).toThrow();
    expect(() => parseCondition('result >= 1 )')).toThrow(/unexpected "\)" at 13/);
  });

  it("judges with Argo's semantics: failure first, success required, neither inconclusive", () => {
    const both = m(undefined, { successCondition: 'result < 1', failureCondition: 'result > 5' });
    expect(judgeMetric(both, [0.5]).verdict).toBe('pass');
    expect(judgeMetric(both, [9]).verdict).toBe('fail');
    expect(judgeMetric(both, [3])).toMatchObject({
      verdict: 'inconclusive',
      reason: expect.stringMatching(/neither/),
    });
    const success = m(undefined, { successCondition: 'result < 1' });
    expect(judgeMetric(success, [3])).toMatchObject({
      verdict: 'fail',
      reason: 'm 3 does not meet successCondition `result < 1`',
    });
    const failure = m(undefined, { failureCondition: 'result > 5' });
    expect(judgeMetric(failure, [3]).verdict).toBe('pass');
    // A range and a condition must both hold; no data is never a failure.
    expect(judgeMetric(m({ max: 2 }, { successCondition: 'result < 10' }), [3]).verdict).toBe('fail');
    expect(judgeMetric(success, []).verdict).toBe('inconclusive');
    expect(
      metricSchema.safeParse({ name: 'x', prometheus: { address: 'http://p:9090', query: 'q' } }).success,
    ).toBe(false);
    const refused = metricSchema.safeParse({
      name: 'x',
      prometheus: { address: 'http://p:9090', query: 'q' },
      successCondition: 'result >',
    });
    expect(refused.success).toBe(false);
    expect(JSON.stringify(refused.error?.issues)).toMatch(
      /not a condition: expected a number or result at the end/,
    );
  });

  it('tolerates failureLimit failed measurements over the rollout, then fails the check', () => {
    const metric = m({ max: 1 }, { failureLimit: 2 });
    const fail = judgeMetric(metric, [5]);
    let failures: Record<string, number> = {};
    const verdicts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const limited = applyFailureLimits([metric], [fail], failures);
      failures = limited.failures;
      verdicts.push(withMetrics('pass', evidence, limited.results).verdict);
    }
    expect(verdicts).toEqual(['pass', 'pass', 'fail']);
    expect(applyFailureLimits([metric], [fail], {}).results[0].reason).toBe(
      'm 5 above max 1 (failure 1 of 2 tolerated)',
    );
  });

  it("fills a query with the rollout's names and its interval as a Prometheus duration", () => {
    const r = { id: 'v2-abc', engine: 'shop', version: 'v2' } as Rollout;
    expect(
      fillQuery(
        'rate(x{engine="{{ engine }}",version="{{version}}"}[{{ interval }}]) # {{ rollout }} {{ other }}',
        r,
        90_000,
      ),
    ).toBe('rate(x{engine="shop",version="v2"}[1m30s]) # v2-abc {{ other }}');
  });
});
