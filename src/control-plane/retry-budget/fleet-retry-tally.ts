import type { FleetRetryBudget } from '../../../gen/nerve/discovery/v1/resources';
import type { EngineCalls } from '../../../gen/nerve/report/v1/report';

/** Reports older than this leave the sums: the window the fleet's rate is measured over. */
export const WINDOW_MS = 10_000;

interface Interval {
  readonly atMs: number;
  readonly intervalMs: number;
  readonly calls: number;
  readonly retries: number;
  readonly refused: number;
}

/** What the fleet did to one engine over the window. */
export interface FleetRetrySummary {
  readonly routers: number;
  readonly callsPerSecond: number;
  readonly retriesPerSecond: number;
  readonly refusedPerSecond: number;
  /** Retries per call over the window (0 without calls). */
  readonly retryRatio: number;
}

/**
 * Every router's calls and retries per engine, summed over the last WINDOW_MS of reports. Pure (time is
 * passed in), so the rule is tested over plain numbers. A router's interval counts once: a report heard
 * again (shared between replicas) is recognised by the caller and never recorded twice.
 */
export class FleetRetryTally {
  /** engine → node → its reports in the window. */
  private readonly byEngine = new Map<string, Map<string, Interval[]>>();

  record(nodeId: string, calls: readonly EngineCalls[], intervalMs: number, atMs: number): void {
    for (const c of calls) {
      let nodes = this.byEngine.get(c.engine);
      if (!nodes) this.byEngine.set(c.engine, (nodes = new Map()));
      let list = nodes.get(nodeId);
      if (!list) nodes.set(nodeId, (list = []));
      list.push({ atMs, intervalMs, calls: c.calls, retries: c.retries, refused: c.retriesRefused });
    }
  }

  engines(): string[] {
    return [...this.byEngine.keys()];
  }

  summary(engine: string, nowMs: number): FleetRetrySummary {
    const nodes = this.byEngine.get(engine);
    let routers = 0;
    let calls = 0;
    let retries = 0;
    let refused = 0;
    let spanMs = 0;
    for (const [node, list] of nodes ?? []) {
      const kept = list.filter((i) => nowMs - i.atMs < WINDOW_MS);
      if (kept.length === 0) {
        nodes!.delete(node);
        continue;
      }
      nodes!.set(node, kept);
      routers++;
      let covered = 0;
      for (const i of kept) {
        calls += i.calls;
        retries += i.retries;
        refused += i.refused;
        covered += i.intervalMs;
      }
      spanMs = Math.max(spanMs, Math.min(covered, WINDOW_MS));
    }
    if (nodes && nodes.size === 0) this.byEngine.delete(engine);
    const perSecond = (n: number) => (spanMs > 0 ? (n * 1000) / spanMs : 0);
    return {
      routers,
      callsPerSecond: perSecond(calls),
      retriesPerSecond: perSecond(retries),
      refusedPerSecond: perSecond(refused),
      retryRatio: calls > 0 ? retries / calls : 0,
    };
  }

  /**
   * What routers are sent: the routers and the fleet's rate (two significant figures). Undefined
   * without a report in the window. `published`: what they have now; it stays while the rate moved
   * less than 10 %, so that noise pushes nothing.
   */
  budget(engine: string, nowMs: number, published?: FleetRetryBudget): FleetRetryBudget | undefined {
    const s = this.summary(engine, nowMs);
    if (s.routers === 0) return undefined;
    const rate = Number(s.callsPerSecond.toPrecision(2));
    if (published && published.routers === s.routers && closeTo(published.fleetCallsPerSecond, rate))
      return published;
    return { routers: s.routers, fleetCallsPerSecond: rate };
  }
}

function closeTo(a: number, b: number): boolean {
  return a === b || (a > 0 && Math.abs(b / a - 1) < 0.1);
}
