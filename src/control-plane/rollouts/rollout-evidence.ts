import type { EngineSpec } from '../../model/engine';
import {
  analyze,
  applyFailureLimits,
  type Evidence,
  type Rollout,
  type SideStats,
  type Verdict,
  withLoad,
  withMetrics,
} from '../../model/rollout';
import { compareLoad, sideLoad } from '../../model/rollout-load';
import type { ReportReceived } from '../kernel/events';
import type { FleetContext } from '../fleet/fleet-context';
import { CallAccumulator } from '../calls/call-accumulator';
import { CallTally } from '../calls/call-tally';
import type { CallWindows } from '../calls/call-windows';
import { checkStateOf } from '../health/health-module';
import { readMetric } from './prometheus-metrics';
import { SyntheticLoad } from './synthetic-load';

function side(sum: CallAccumulator): SideStats {
  return {
    requests: sum.requests,
    errors: sum.errors,
    errorRate: sum.requests > 0 ? Math.round((sum.errors / sum.requests) * 1e6) / 1e6 : 0,
    p99Ms: sum.requests > 0 ? sum.quantile(0.99) : 0,
  };
}

/**
 * What a rollout's checks are judged on, gathered between them: every router's calls per instance
 * (engine/version/instance, so a side's load is per instance), the rollout's own synthetic calls, the
 * instances' ORCA figures and the analysis metrics. `check` turns one interval of it into a verdict
 * with its evidence (model/rollout.ts's rules).
 */
export class RolloutEvidence {
  private readonly tally: CallTally;
  private readonly synthetic = new SyntheticLoad();

  constructor(
    private readonly ctx: FleetContext,
    private readonly windows: CallWindows,
  ) {
    this.tally = new CallTally((load) => {
      const version = this.ctx.engines
        .getNow(load.engine)
        ?.instances.find((i) => i.id === load.instanceId)?.version;
      return version === undefined ? undefined : `${load.engine}/${version}/${load.instanceId}`;
    });
  }

  record(report: ReportReceived): void {
    this.tally.record(report);
  }

  /** Starts the calls of every key under `prefix` (an engine's) afresh: a new interval. */
  reset(prefix: string): void {
    this.tally.reset(prefix);
  }

  /** Synthetic calls for these rollouts that ask for them, toward their routable canaries; none else. */
  drive(rollouts: readonly Rollout[]): void {
    const driven = new Set<string>();
    for (const r of rollouts) {
      const spec = r.analysis.syntheticLoad;
      if (!spec || r.state !== 'progressing' || r.step < 0) continue;
      const engine = this.ctx.engines.getNow(r.engine);
      const addresses = (engine?.instances ?? [])
        .filter((i) => i.version === r.version && !i.draining && i.weight > 0)
        .filter((i) => checkStateOf(this.ctx.store, r.engine, i.id).status !== 'unhealthy')
        .map((i) => i.address);
      driven.add(r.id);
      this.synthetic.ensure(r, spec, addresses);
    }
    this.synthetic.retain(driven);
  }

  /**
   * One check over the interval that just ended: the canary against its baseline (when it has one)
   * or every other version, at comparable load, with its metrics. `metricFailures`: the counts to keep
   * when a metric failed.
   */
  async check(
    r: Rollout,
    spec: EngineSpec,
    intervalMs: number,
  ): Promise<{ verdict: Verdict; evidence: Evidence; metricFailures?: Record<string, number> }> {
    const own = this.synthetic.take(r.id);
    const canary = this.side(r.engine, [r.version], intervalMs, own);
    const stable = this.side(
      r.engine,
      r.baseline !== undefined
        ? [r.baseline]
        : spec.versions.filter((v) => v.name !== r.version).map((v) => v.name),
      intervalMs,
    );
    const analyzed = analyze(side(canary.calls), side(stable.calls), r.analysis, intervalMs);
    const checked = withLoad(
      analyzed.verdict,
      analyzed.evidence,
      compareLoad(canary.load, stable.load, r.analysis.minLoadRatio ?? 0.5),
    );
    const metrics = r.analysis.metrics ?? [];
    const results = await Promise.all(metrics.map((m) => readMetric(m, r, intervalMs)));
    const limited = applyFailureLimits(metrics, results, r.metricFailures ?? {});
    const judged = withMetrics(checked.verdict, checked.evidence, limited.results);
    return {
      verdict: judged.verdict,
      evidence: {
        ...judged.evidence,
        ...(own.calls.requests > 0 && { synthetic: own.calls.requests }),
        ...(r.baseline !== undefined && { comparedWith: r.baseline }),
      },
      ...(limited.results.some((x) => x.verdict === 'fail') && { metricFailures: limited.failures }),
    };
  }

  /**
   * The calls of these versions since the last check, and their load per instance (the instances that
   * served them, with each one's ORCA CPU utilisation when fresh).
   */
  private side(
    engine: string,
    versions: readonly string[],
    intervalMs: number,
    synthetic?: { calls: CallAccumulator; instances: number },
  ) {
    const calls = new CallAccumulator();
    if (synthetic) calls.merge(synthetic.calls);
    const cpu: (number | undefined)[] = [];
    for (const version of versions)
      for (const [key, sum] of this.tally.takePrefix(`${engine}/${version}/`)) {
        calls.merge(sum);
        const orca = this.windows.resources(engine, key.slice(engine.length + version.length + 2));
        const fresh = orca && Date.now() - orca.atMs <= Math.max(10_000, 2 * intervalMs);
        cpu.push(fresh ? orca.cpuUtilization : undefined);
      }
    const instances = Math.max(cpu.length, synthetic?.instances ?? 0);
    return { calls, load: sideLoad(calls.requests, calls.sumMs, intervalMs, instances, cpu) };
  }
}
