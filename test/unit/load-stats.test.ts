import type { InstanceLoad } from '../../gen/nerve/report/v1/report';
import { LoadStats } from '../../src/control-plane/reports/load-stats';
import { instanceLoad } from '../helpers/loads';

const report = (latencies: number[]): InstanceLoad => instanceLoad('e', 'i1', latencies);

describe('load stats across routers', () => {
  it('adds up the routers\u2019 histograms for percentiles over all their calls', () => {
    const stats = new LoadStats(10_000, () => 0);
    // Router A: 90 fast calls; router B: 10 slow ones. The worst router's p50 would say 100 ms.
    stats.record('a', [report(Array(90).fill(1))]);
    stats.record('b', [report(Array(10).fill(100))]);
    const view = stats.view('e', 'i1')!;
    expect(view.requests).toBe(100);
    expect(view.p50Ms).toBeGreaterThan(0.8);
    expect(view.p50Ms).toBeLessThan(1.3);
    expect(view.p99Ms).toBeGreaterThan(80);
    expect(view.p99Ms).toBeLessThanOrEqual(100);
  });

  it('falls back to the worst reporter when one has no histogram (LRS)', () => {
    const stats = new LoadStats(10_000, () => 0);
    stats.record('a', [report(Array(90).fill(1))]);
    const lrs = { ...report([5]), latency: undefined };
    stats.record('grpc-client', [lrs]);
    expect(stats.view('e', 'i1')!.p50Ms).toBeLessThan(1.3);
  });
});
