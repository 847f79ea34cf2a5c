import { KnownFleetIndex, plausibleReport } from '../../src/control-plane/reports/plausibility';
import type { IncomingReport } from '../../src/control-plane/kernel/events';
import { engineSpec } from '../helpers/cluster';
import { instanceLoad } from '../helpers/loads';

const spec = engineSpec({
  name: 'calc',
  versions: [{ name: 'v1', weight: 100 }],
  instances: [{ id: 'i1', address: '127.0.0.1:1' }],
});

const report = (extra: Partial<IncomingReport>): IncomingReport => ({
  nodeId: 'r1',
  source: 'router',
  replica: 'cp',
  loads: [],
  engineCircuits: {},
  engineCalls: [],
  dropped: {},
  intervalMs: 1000,
  ...extra,
});

describe('report plausibility', () => {
  let version = 1;
  const index = new KnownFleetIndex(
    () => version,
    () => [spec],
  );

  it('passes a plausible report through as it is (no copy)', () => {
    const r = report({ loads: [instanceLoad('calc', 'i1', [3, 4])], dropped: { calc: 2 } });
    const out = plausibleReport(r, index.known);
    expect(out.report).toBe(r);
    expect(Object.values(out.refused)).toEqual([0, 0, 0]);
  });

  it('leaves out unknown engines and instances and impossible figures, and says how many of each', () => {
    const negative = instanceLoad('calc', 'i1');
    negative.inFlight = -1;
    const fractional = instanceLoad('calc', 'i1');
    fractional.requests = 1.5;
    const errors = instanceLoad('calc', 'i1', [1]);
    errors.errors = 2;
    const good = instanceLoad('calc', 'i1', [1]);
    const r = report({
      loads: [instanceLoad('nope', 'i1'), instanceLoad('calc', 'i9'), negative, good, fractional, errors],
      engineCircuits: { nope: { state: 2, sinceMs: 1 }, calc: { state: 2, sinceMs: 1 } },
      dropped: { nope: 1, calc: -3 },
    });
    const out = plausibleReport(r, index.known);
    expect(out.report.loads).toEqual([good]);
    expect(Object.keys(out.report.engineCircuits)).toEqual(['calc']);
    expect(out.report.dropped).toEqual({});
    expect(out.refused).toEqual({ unknown_engine: 3, unknown_instance: 1, impossible_figures: 4 });
    expect(r.loads).toHaveLength(6); // the original is untouched
  });

  it('learns new instances when the configuration version moves', () => {
    expect(index.known('calc')?.has('i1')).toBe(true);
    expect(index.known('other')).toBeUndefined();
    version++;
    expect(index.known('calc')?.size).toBe(1);
  });
});
