import { LatencyHistogram } from '../../src/router/stats/latency-histogram';

describe('latency histogram', () => {
  it('estimates quantiles within one bucket (25 %)', () => {
    const h = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) h.record(i / 10); // 0.1 .. 100 ms uniformly
    expect(h.count).toBe(1000);
    expect(h.quantile(0.5)).toBeGreaterThanOrEqual(50);
    expect(h.quantile(0.5)).toBeLessThanOrEqual(50 * 1.25);
    expect(h.quantile(0.99)).toBeGreaterThanOrEqual(99);
    expect(h.quantile(0.99)).toBeLessThanOrEqual(100); // capped at the max seen
    expect(h.maxMs).toBe(100);
  });

  it('is empty after reset', () => {
    const h = new LatencyHistogram();
    h.record(5);
    h.reset();
    expect([h.count, h.quantile(0.5), h.maxMs]).toEqual([0, 0, 0]);
  });
});
