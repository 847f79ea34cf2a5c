import { failoverDrill } from '../helpers/failover-chaos';
import { hasRedisSentinel } from '../helpers/redis-sentinel';
import { withTool } from '../helpers/requires';

// Needs Debian's redis-server and redis-sentinel (CI installs both), and dist/ (the control planes are
// processes of their own).
const describeSentinel = withTool(hasRedisSentinel(), 'redis-sentinel').describe;

describeSentinel('Redis failover drill: three control planes, Sentinel, a router under load', () => {
  it('five SIGKILLs of the primary: nothing acknowledged lost, no fence back, no doubled action, no failed call', async () => {
    const r = await failoverDrill({ failovers: 5 }); // DRILL_TRACE=1 (or all) traces it on stderr
    expect(r.acknowledged).toBeGreaterThan(20);
    expect(r.lost).toEqual([]);
    expect(r.fenceRegressions).toBe(0);
    expect(r.doubledActions).toBe(0);
    expect(r.staleSignedWrites).toBe(0);
    // The alert that fired before the first failover and resolved after the last: told once each.
    expect(r.notifications).toEqual({ firing: 1, resolved: 1, deliveries: 2 });
    expect(r.failedCalls).toEqual([]);
    expect(r.routedCalls).toBeGreaterThan(100);
    expect(r.unavailableMs).toHaveLength(5);
    expect(r.eventProblems).toEqual([]);
    expect(Math.min(...r.eventCounts)).toBeGreaterThan(20);
    expect(r.converged).toBe(true);
  }, 240_000);
});
