import { INITIAL_CHECK_STATE, recordCheck, type CheckState } from '../../src/model/health';

const policy = { intervalMs: 100, timeoutMs: 50, healthyThreshold: 2, unhealthyThreshold: 3 };
const run = (results: boolean[], from: CheckState = INITIAL_CHECK_STATE) =>
  results.reduce(
    (s, ok, i) =>
      recordCheck(s, { ok, error: ok ? undefined : 'UNAVAILABLE: down', atMs: i, latencyMs: 1 }, policy),
    from,
  );

describe('active health check transitions', () => {
  it('decides an unknown instance on its first check', () => {
    expect(run([true]).status).toBe('healthy');
    expect(run([false]).status).toBe('unhealthy');
  });

  it('takes unhealthyThreshold failures in a row to go out', () => {
    expect(run([true, false, false]).status).toBe('healthy');
    expect(run([true, false, false, false]).status).toBe('unhealthy');
    expect(run([true, false, false, true, false, false]).status).toBe('healthy');
  });

  it('takes healthyThreshold successes in a row to come back, and keeps the last error', () => {
    const down = run([false]);
    expect(down.lastError).toBe('UNAVAILABLE: down');
    expect(run([true], down).status).toBe('unhealthy');
    const back = run([true, true], down);
    expect(back).toMatchObject({
      status: 'healthy',
      lastError: '',
      consecutiveSuccesses: 2,
      consecutiveFailures: 0,
    });
  });
});
