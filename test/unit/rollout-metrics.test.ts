import { fillQuery } from '../../src/control-plane/rollouts/prometheus-metrics';
import { type Evidence, judgeMetric, type Metric, type Rollout, withMetrics } from '../../src/model/rollout';

const m = (thresholdRange: Metric['thresholdRange']): Metric => ({
  name: 'm',
  prometheus: { address: 'http://prom:9090', query: 'q' },
  thresholdRange,
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
    expect(judgeMetric(m({ min: 1 }), 0.5).verdict).toBe('fail');
    expect(judgeMetric(m({ max: 1 }), 2).reason).toBe('m 2 above max 1');
    expect(judgeMetric(m({ min: 0, max: 1 }), 1).verdict).toBe('pass');
    expect(judgeMetric(m({ max: 1 }), null)).toMatchObject({ verdict: 'inconclusive', reason: 'm: no data' });
  });

  it('fails a check on a failing metric, waits on one without data, else keeps the built-in verdict', () => {
    const fail = judgeMetric(m({ max: 1 }), 2);
    const none = judgeMetric(m({ max: 1 }), null);
    const pass = judgeMetric(m({ max: 1 }), 0);
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
