import { dropsFromLrs, loadsFromLrs, type LoadStatsRequest } from '../../src/control-plane/lrs/lrs-service';
import { LoadStats } from '../../src/control-plane/reports/load-stats';

const locality = (
  engine: string,
  id: string,
  ok: number,
  errors: number,
  inProgress: number,
  metrics: [string, number][] = [],
) => ({
  locality: { region: engine, zone: 'v1', sub_zone: id },
  total_successful_requests: String(ok),
  total_error_requests: String(errors),
  total_requests_in_progress: String(inProgress),
  total_issued_requests: String(ok + errors),
  load_metric_stats: metrics.map(([metric_name, total_metric_value]) => ({
    metric_name,
    total_metric_value,
  })),
});

const report: LoadStatsRequest = {
  node: { id: 'client-1' },
  cluster_stats: [
    {
      cluster_name: 'math/v1',
      total_dropped_requests: '3',
      upstream_locality_stats: [
        locality('math', 'm1', 10, 2, 1, [['cpu', 0.5]]),
        locality('lite', 'l1', 4, 0, 0),
      ],
    },
    {
      cluster_name: 'math/v2',
      total_dropped_requests: '1',
      upstream_locality_stats: [locality('math', 'm1', 5, 0, 0, [['cpu', 0.25]])],
    },
  ],
};

describe('LRS folding', () => {
  it('turns locality stats into instance loads, summing an instance seen under several clusters', () => {
    const loads = loadsFromLrs(report);
    expect(
      loads.map((l) => [l.engine, l.instanceId, l.requests, l.errors, l.inFlight, l.loadMetrics]),
    ).toEqual([
      ['math', 'm1', 17, 2, 1, { cpu: 0.75 }],
      ['lite', 'l1', 4, 0, 0, {}],
    ]);
  });

  it('counts drops per engine and shows them until they go stale', () => {
    expect([...dropsFromLrs(report)]).toEqual([['math', 4]]);
    let now = 0;
    const stats = new LoadStats(1_000, () => now);
    stats.record('client-1', loadsFromLrs(report));
    for (const [engine, n] of dropsFromLrs(report)) stats.recordDropped('client-1', engine, n);
    stats.recordDropped('client-2', 'math', 6);
    expect(stats.dropped('math')).toBe(10);
    expect(stats.view('math', 'm1')).toMatchObject({
      requests: 17,
      errors: 2,
      inFlight: 1,
      loadMetrics: { cpu: 0.75 },
    });
    now = 1_500;
    expect(stats.dropped('math')).toBe(0);
    expect(stats.view('math', 'm1')).toBeUndefined();
  });
});
