import { analyze, withLoad } from '../../src/model/rollout';
import { analysisSchema } from '../../src/model/rollout-input';
import { BUSY_IN_FLIGHT, compareLoad, sideLoad } from '../../src/model/rollout-load';

const a = analysisSchema.parse({ minRequests: 10 });
const calls = (requests: number, p99Ms: number) => ({ requests, errors: 0, errorRate: 0, p99Ms });

describe('like-for-like verdicts (pure rules)', () => {
  it("measures a side's load per instance by Little's law, and efficiency from ORCA", () => {
    // 900 calls of 50 ms over 10 s on 2 instances: 4.5 call-seconds a second, 2.25 per instance.
    expect(sideLoad(900, 900 * 50, 10_000, 2, [undefined, 0.5])).toEqual({
      instances: 2,
      inFlightPerInstance: 2.25,
      callsPerSecondPerInstance: 45,
    });
    expect(sideLoad(900, 900 * 50, 10_000, 2, [0.4, 0.5])).toEqual({
      instances: 2,
      inFlightPerInstance: 2.25,
      callsPerSecondPerInstance: 45,
      cpuUtilization: 0.45,
      callsPerCpuSecond: 100, // 900 calls / (0.9 CPU × 10 s)
    });
  });

  it('makes an idle canary beside a busy stable version inconclusive, never a pass', () => {
    const stable = sideLoad(900, 900 * 50, 10_000, 2, []);
    const idle = sideLoad(100, 100 * 50, 10_000, 1, []);
    const cmp = compareLoad(idle, stable, 0.5);
    expect(cmp).toMatchObject({ measure: 'in_flight', ratio: 0.222, comparable: false });
    const passed = analyze(calls(100, 60), calls(900, 60), a, 10_000);
    expect(passed.verdict).toBe('pass');
    const judged = withLoad(passed.verdict, passed.evidence, cmp);
    expect(judged.verdict).toBe('inconclusive');
    expect(judged.evidence.reason).toBe(
      "the canary carried 0.222× the stable version's load (in flight per instance 0.5 vs 2.25), below minLoadRatio 0.5: as fast only at lighter load is no evidence; the step waits",
    );
    // A canary slower even at lighter load has failed: that is evidence.
    const failed = analyze({ ...calls(100, 60), errors: 50, errorRate: 0.5 }, calls(900, 60), a, 10_000);
    expect(withLoad(failed.verdict, failed.evidence, cmp).verdict).toBe('fail');
  });

  it('compares any load while the stable version is idle, by CPU when both sides report it, and not at all at 0', () => {
    const quiet = sideLoad(100, 100 * 2, 10_000, 2, []);
    expect(quiet.inFlightPerInstance).toBeLessThan(BUSY_IN_FLIGHT);
    expect(compareLoad(sideLoad(5, 10, 10_000, 1, []), quiet, 0.5).comparable).toBe(true);
    const cpu = compareLoad(
      sideLoad(100, 100, 10_000, 1, [0.5]),
      sideLoad(100, 5_000, 10_000, 1, [0.6]),
      0.5,
    );
    // Both measures count: each compares (the stable version idle by calls in flight).
    expect(cpu).toMatchObject({ measure: 'in_flight', comparable: true });
    expect(cpu.reason).toBe(
      'comparable load (in flight per instance 0.01 vs 0.5; CPU per instance 0.5 vs 0.6)',
    );
    // Lighter by CPU while the stable version is busy by it, and by call rate, whatever the calls in
    // flight say (the fast calls of a CPU-bound engine).
    const byCpu = compareLoad(
      sideLoad(20, 20 * 2, 10_000, 1, [0.1]),
      sideLoad(100, 100 * 2, 10_000, 1, [0.6]),
      0.5,
    );
    expect(byCpu).toMatchObject({ measure: 'cpu', ratio: 0.167, comparable: false });
    // A CPU figure its call rate does not bear out (instances sharing a host) decides nothing.
    const shared = compareLoad(
      sideLoad(100, 100 * 2, 10_000, 1, [0.1]),
      sideLoad(100, 100 * 2, 10_000, 1, [0.6]),
      0.5,
    );
    expect(shared.comparable).toBe(true);
    const busy = sideLoad(900, 900 * 50, 10_000, 2, []);
    expect(compareLoad(sideLoad(1, 1, 10_000, 1, []), busy, 0).comparable).toBe(true);
  });
});
