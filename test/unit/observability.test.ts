import { humanLine, humanLogs } from '../../src/observability/logger';
import * as protobuf from 'protobufjs';
import { join } from 'node:path';
import { CallWindows } from '../../src/control-plane/calls/call-windows';
import { explainInstance, holdStatus, type HeldStatus, rollup } from '../../src/model/health-rollup';
import { INITIAL_CHECK_STATE } from '../../src/model/health';
import { interpolatedQuantile, LATENCY_LAYOUT } from '../../src/model/latency-buckets';
import { decodeOrca, encodeOrca } from '../../src/model/orca';
import { LatencyHistogram } from '../../src/router/stats/latency-histogram';
import { instanceLoad, routerReport } from '../helpers/loads';

const load = instanceLoad;
const report = routerReport;

describe('interpolated percentiles', () => {
  it('are within a few percent of a uniform distribution, where bucket bounds alone are up to 25 % off', () => {
    const h = new LatencyHistogram();
    const values = Array.from({ length: 10_000 }, (_, i) => 20 + (60 * i) / 10_000);
    for (const v of values) h.record(v);
    for (const [q, exact] of [
      [0.5, 50],
      [0.95, 77],
      [0.99, 79.4],
    ]) {
      const got = interpolatedQuantile(LATENCY_LAYOUT, h.counts, q, h.maxMs);
      expect(Math.abs(got - exact) / exact).toBeLessThan(0.03);
    }
    expect(interpolatedQuantile(LATENCY_LAYOUT, new Uint32Array(64), 0.5)).toBe(0);
  });
});

describe('ORCA load report codec', () => {
  const protoDir = join(__dirname, '../../node_modules/@grpc/grpc-js/proto');
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    target.startsWith('validate/')
      ? join(protoDir, 'protoc-gen-validate', target)
      : target.startsWith('google/')
        ? join(__dirname, '../../node_modules/protobufjs', target)
        : join(protoDir, 'xds', target);
  root.loadSync('xds/data/orca/v3/orca_load_report.proto');
  const OrcaLoadReport = root.lookupType('xds.data.orca.v3.OrcaLoadReport');

  it('decodes what protobufjs encodes from the published proto, and encodes what it decodes', () => {
    const bytes = OrcaLoadReport.encode(
      OrcaLoadReport.fromObject({
        cpuUtilization: 0.42,
        memUtilization: 0.125,
        rpsFractional: 12.5,
        eps: 0.5,
        applicationUtilization: 0.7,
        utilization: { gpu: 0.9, queue: 0.1 },
        namedMetrics: { tokens: 1234 },
        requestCost: { db: 3 },
      }),
    ).finish();
    const r = decodeOrca(bytes);
    expect(r).toEqual({
      cpuUtilization: 0.42,
      memUtilization: 0.125,
      rps: 12.5,
      eps: 0.5,
      applicationUtilization: 0.7,
      utilization: { gpu: 0.9, queue: 0.1 },
      namedMetrics: { tokens: 1234 },
    });
    const back = OrcaLoadReport.toObject(OrcaLoadReport.decode(encodeOrca(r)));
    expect(back.cpuUtilization).toBe(0.42);
    expect(back.utilization).toEqual({ gpu: 0.9, queue: 0.1 });
  });

  it('refuses a truncated report with a reason', () => {
    const bytes = encodeOrca({ cpuUtilization: 0.5 });
    expect(() => decodeOrca(bytes.subarray(0, 5))).toThrow(/truncated/);
  });
});

describe('health, explained', () => {
  const check = (status: 'healthy' | 'unhealthy' | 'unknown', lastError = '') => ({
    ...INITIAL_CHECK_STATE,
    status,
    lastError,
    consecutiveFailures: status === 'unhealthy' ? 3 : 0,
  });

  it('gives each status its reasons', () => {
    expect(
      explainInstance({ draining: false, check: check('healthy'), circuitOpen: false, ejectedBy: 0 }),
    ).toEqual({
      status: 'healthy',
      reasons: [],
    });
    const failing = explainInstance({
      draining: false,
      check: check('unhealthy', 'UNAVAILABLE: connection refused'),
      circuitOpen: false,
      ejectedBy: 0,
    });
    expect(failing.status).toBe('unhealthy');
    expect(failing.reasons[0]).toEqual({
      code: 'probe_failing',
      message: 'health probe failing (3 in a row): UNAVAILABLE: connection refused',
    });
    expect(
      explainInstance({ draining: true, check: check('healthy'), circuitOpen: true, ejectedBy: 0 }).status,
    ).toBe('draining');
    const open = explainInstance({
      draining: false,
      check: check('healthy'),
      circuitOpen: true,
      ejectedBy: 2,
    });
    expect(open.status).toBe('unhealthy');
    expect(open.reasons.map((r) => r.code)).toEqual(['circuit_open', 'ejected']);
    // A router's ejection alone is shown, not a status.
    expect(
      explainInstance({ draining: false, check: check('healthy'), circuitOpen: false, ejectedBy: 1 }).status,
    ).toBe('healthy');
    expect(
      explainInstance({
        draining: false,
        check: check('healthy'),
        circuitOpen: false,
        ejectedBy: 0,
        leaseLapsed: true,
      }).status,
    ).toBe('unhealthy');
  });

  it('rolls instances up by the written rule', () => {
    expect(rollup(['healthy', 'healthy', 'draining'])).toBe('healthy');
    expect(rollup(['healthy', 'unhealthy'])).toBe('degraded');
    expect(rollup(['unknown', 'unhealthy'])).toBe('unhealthy');
    expect(rollup(['draining'])).toBe('unhealthy');
  });

  it('does not let a flapping instance flap its engine: worse at once, better after the hold', () => {
    const hold = 30_000;
    let s: HeldStatus | undefined;
    let t = 0;
    const step = (raw: 'healthy' | 'degraded' | 'unhealthy', dt = 1_000) => {
      t += dt;
      s = holdStatus(s, raw, t, hold);
      return s.status;
    };
    // Starting up: follows its instances until first healthy.
    expect(step('unhealthy')).toBe('unhealthy');
    expect(step('healthy')).toBe('healthy');
    const seen = new Set<string>();
    for (let i = 0; i < 40; i++) seen.add(step(i % 2 === 0 ? 'degraded' : 'healthy', 5_000));
    expect([...seen]).toEqual(['degraded']);
    // Steady for the hold: recovers.
    for (let i = 0; i < 5; i++) step('healthy', 5_000);
    expect(step('healthy', 10_000)).toBe('healthy');
    expect(step('unhealthy')).toBe('unhealthy');
  });
});

describe('CallWindows', () => {
  it('adds up every router, rates over the time covered, and forgets what left the window', () => {
    let now = 100_000;
    const w = new CallWindows(60_000, 5_000, () => now);
    w.record(report(now, [load('e', 'i1', Array(100).fill(10))], 'r1'));
    w.record(report(now, [load('e', 'i1', Array(100).fill(30), { inFlight: 3 })], 'r2'));
    now += 2_000;
    const s = w.stats('e', 'i1');
    expect(s.requests).toBe(200);
    expect(s.rps).toBeCloseTo(200 / 4, 0); // 2 s interval before the first report + 2 s since
    expect(s.inFlight).toBe(3);
    expect(s.p50Ms).toBeGreaterThan(8);
    expect(s.p50Ms).toBeLessThan(31);
    expect(s.p99Ms).toBeGreaterThan(27);
    now += 61_000;
    expect(w.stats('e', 'i1').requests).toBe(0);
    w.prune();
    expect(w.size).toBe(0);
  });

  it('keeps the newest ORCA figures and counts routers that eject', () => {
    const now = 50_000;
    const w = new CallWindows(60_000, 5_000, () => now);
    w.record(
      report(
        now,
        [load('e', 'i1', [1], { cpuUtilization: 0.5, memUtilization: 0.25, orcaAtMs: 10, ejected: true })],
        'r1',
      ),
    );
    w.record(report(now, [load('e', 'i1', [1], { cpuUtilization: 0.9, orcaAtMs: 5 })], 'r2'));
    expect(w.resources('e', 'i1')).toMatchObject({ cpuUtilization: 0.5, memUtilization: 0.25, atMs: 10 });
    expect(w.ejectedBy('e', 'i1')).toBe(1);
  });
});

describe('logs a person reads', () => {
  it('are human lines on a terminal (LOG_FORMAT=text forces them), JSON otherwise or with LOG_FORMAT=json', () => {
    expect(humanLogs({}, true)).toBe(true);
    expect(humanLogs({}, false)).toBe(false);
    expect(humanLogs({ LOG_FORMAT: 'json' }, true)).toBe(false);
    expect(humanLogs({ LOG_FORMAT: 'text' }, false)).toBe(true);
    const line = humanLine.transform({
      level: 'warn',
      message: 'xDS stream lost; reconnecting',
      component: 'router',
      timestamp: '2026-12-06T21:04:05.123Z',
      address: '127.0.0.1:18000',
      error: 'connection refused',
      retryInMs: 412,
    }) as Record<symbol, string>;
    expect(line[Symbol.for('message')]).toBe(
      '21:04:05.123 WARN  router  xDS stream lost; reconnecting  address=127.0.0.1:18000 error="connection refused" retryInMs=412',
    );
  });
});
