import type { CallMatch } from './call-match';
import type { VersionSpec } from './engine';
import { parseCondition } from './rollout-condition';
import type { Analysis, GateType, Metric, Mirror, Webhook } from './rollout-input';
import type { LoadComparison } from './rollout-load';

export type RolloutState = 'progressing' | 'paused' | 'promoted' | 'rolled_back' | 'aborted';
/** A check's verdict, or what a history entry records: the start, an operator's action, the end. */
export type Verdict =
  | 'pass'
  | 'fail'
  | 'inconclusive'
  | 'no_traffic'
  | 'manual'
  | 'started'
  | 'promoted'
  | 'rolled_back'
  | 'aborted'
  | 'gate';

/** Calls of one side over an interval. */
export interface SideStats {
  readonly requests: number;
  readonly errors: number;
  readonly errorRate: number;
  readonly p99Ms: number;
}

export interface Evidence {
  readonly canary: SideStats;
  readonly stable: SideStats;
  /** canary p99 / stable p99, when both had enough calls. */
  readonly p99Ratio: number | null;
  readonly intervalMs: number;
  readonly reason: string;
  /** Prometheus metrics judged at this check (absent: none configured). */
  readonly metrics?: readonly MetricResult[];
  /** Load per instance on each side, and whether they compare (absent in rollouts judged before it). */
  readonly load?: LoadComparison;
  /** Of the canary's calls, how many the rollout sent itself (analysis.syntheticLoad). */
  readonly synthetic?: number;
  /** The version the canary was judged against when not every other one: its baseline. */
  readonly comparedWith?: string;
}

/** A passing check at unlike load decides nothing: inconclusive, the step waits. A failure stands. */
export function withLoad(verdict: Verdict, evidence: Evidence, load: LoadComparison) {
  const e = { ...evidence, load };
  if (verdict !== 'pass' || load.comparable) return { verdict, evidence: e };
  return { verdict: 'inconclusive' as Verdict, evidence: { ...e, reason: `${load.reason}; the step waits` } };
}

/** One analysis metric's reading at a check. */
export interface MetricResult {
  readonly name: string;
  /** The first value; null: no data (or no answer). */
  readonly value: number | null;
  readonly verdict: 'pass' | 'fail' | 'inconclusive';
  readonly reason: string;
  /** A failure within the metric's failureLimit: recorded, the check not failed by it. */
  readonly tolerated?: boolean;
}

/** A metric's values (a query's samples, first first) against its range and conditions. */
export function judgeMetric(m: Metric, values: readonly number[] | null, why = 'no data'): MetricResult {
  if (values === null || values.length === 0 || Number.isNaN(values[0]))
    return { name: m.name, value: null, verdict: 'inconclusive', reason: `${m.name}: ${why}` };
  const value = values[0];
  const result = (verdict: MetricResult['verdict'], reason: string): MetricResult => ({
    name: m.name,
    value,
    verdict,
    reason: `${m.name} ${value} ${reason}`,
  });
  const { min, max } = m.thresholdRange ?? {};
  if (min !== undefined && value < min) return result('fail', `below min ${min}`);
  if (max !== undefined && value > max) return result('fail', `above max ${max}`);
  if (m.failureCondition !== undefined && parseCondition(m.failureCondition)(values))
    return result('fail', `meets failureCondition \`${m.failureCondition}\``);
  if (m.successCondition !== undefined && !parseCondition(m.successCondition)(values))
    return m.failureCondition !== undefined
      ? result(
          'inconclusive',
          `meets neither successCondition \`${m.successCondition}\` nor failureCondition`,
        )
      : result('fail', `does not meet successCondition \`${m.successCondition}\``);
  return result(
    'pass',
    m.successCondition !== undefined ? `meets successCondition \`${m.successCondition}\`` : 'within range',
  );
}

/**
 * Applies each metric's failureLimit: a failure is tolerated while the metric's failures so far (this
 * one included) do not exceed it. Returns the results and the failures counted after this check.
 */
export function applyFailureLimits(
  metrics: readonly Metric[],
  results: readonly MetricResult[],
  failures: Readonly<Record<string, number>>,
): { results: MetricResult[]; failures: Record<string, number> } {
  const counted = { ...failures };
  const out = results.map((r, i) => {
    if (r.verdict !== 'fail') return r;
    const n = (counted[r.name] ?? 0) + 1;
    counted[r.name] = n;
    const limit = metrics[i]?.failureLimit ?? 0;
    return n <= limit
      ? { ...r, tolerated: true, reason: `${r.reason} (failure ${n} of ${limit} tolerated)` }
      : r;
  });
  return { results: out, failures: counted };
}

/**
 * The check's verdict with its metrics: a failing metric fails the check (unless tolerated); a metric
 * without data (or between its conditions) makes a passing check inconclusive (the step waits);
 * otherwise the built-in verdict stands.
 */
export function withMetrics(verdict: Verdict, evidence: Evidence, results: readonly MetricResult[]) {
  if (results.length === 0) return { verdict, evidence };
  const failed = results.filter((r) => r.verdict === 'fail' && !r.tolerated);
  const unknown = results.filter((r) => r.verdict === 'inconclusive');
  const e = { ...evidence, metrics: results };
  if (failed.length > 0)
    return {
      verdict: 'fail' as Verdict,
      evidence: {
        ...e,
        reason: [...(verdict === 'fail' ? [evidence.reason] : []), ...failed.map((r) => r.reason)].join('; '),
      },
    };
  if (unknown.length > 0 && (verdict === 'pass' || verdict === 'no_traffic'))
    return {
      verdict: 'inconclusive' as Verdict,
      evidence: { ...e, reason: `${unknown.map((r) => r.reason).join('; ')}: the step waits` },
    };
  return { verdict, evidence: e };
}

export interface RolloutStep {
  readonly at: string;
  readonly weight: number;
  readonly verdict: Verdict;
  readonly evidence?: Evidence;
  readonly by?: string;
  /** Why it ended or changed state (pause, resume, abort, promotion, rollback). */
  readonly reason?: string;
  /** A gate's answer (verdict `gate`, or the one that decided a rollback). */
  readonly gate?: GateAnswer;
  /** Every gate asked at this check, with its answer. */
  readonly gates?: readonly GateAnswer[];
}

/** What a webhook gate answered. */
export interface GateAnswer {
  readonly name: string;
  readonly type: GateType;
  /** 2xx. */
  readonly ok: boolean;
  /** The HTTP status (0: no answer). */
  readonly status: number;
  readonly error?: string;
  readonly attempts: number;
}

/** A rollout as stored, listed and published (ROLLOUT). */
export interface Rollout {
  readonly id: string;
  readonly engine: string;
  readonly version: string;
  readonly steps: readonly number[];
  readonly intervalMs: number;
  readonly analysis: Analysis;
  /** Webhook gates (absent in rollouts stored before them). */
  readonly webhooks?: readonly Webhook[];
  /** The baseline's version label, once the rollout has begun with analysis.baseline. */
  readonly baseline?: string;
  /** A/B rules (absent or empty: none). */
  readonly match?: readonly CallMatch[];
  readonly mirror?: Mirror;
  readonly state: RolloutState;
  /** The step reached (-1 before the first is applied). */
  readonly step: number;
  /** The new version's share of traffic now, percent. */
  readonly weight: number;
  readonly failedChecks: number;
  /** Checks in a row at this step that decided nothing (analysis.maxInconclusiveChecks pauses). */
  readonly inconclusiveChecks?: number;
  /** Failed measurements per analysis metric so far (their failureLimit). */
  readonly metricFailures?: Readonly<Record<string, number>>;
  /** The other versions' weights when it started: restored by a rollback or an abort. */
  readonly original: Readonly<Record<string, number>>;
  readonly createdAt: string;
  readonly createdBy: string;
  readonly stepStartedAtMs: number;
  readonly history: readonly RolloutStep[];
}

export const ACTIVE: ReadonlySet<RolloutState> = new Set(['progressing', 'paused']);

/** One check of the canary against the stable versions over an interval. */
export function analyze(
  canary: SideStats,
  stable: SideStats,
  a: Analysis,
  intervalMs: number,
): { verdict: Verdict; evidence: Evidence } {
  const ratio =
    stable.requests >= a.minRequests && stable.p99Ms > 0 && canary.requests >= a.minRequests
      ? Math.round((canary.p99Ms / stable.p99Ms) * 1000) / 1000
      : null;
  const evidence = (reason: string): Evidence => ({ canary, stable, p99Ratio: ratio, intervalMs, reason });
  if (canary.requests === 0)
    return {
      verdict: 'no_traffic',
      evidence: evidence(`no call reached the new version (action: ${a.noTraffic})`),
    };
  if (canary.requests < a.minRequests)
    return {
      verdict: 'inconclusive',
      evidence: evidence(
        `${canary.requests} calls, fewer than minRequests ${a.minRequests}: the step goes on`,
      ),
    };
  const failures: string[] = [];
  if (canary.errorRate > a.maxErrorRate)
    failures.push(
      `error rate ${pct(canary.errorRate)} above ${pct(a.maxErrorRate)} (stable ${pct(stable.errorRate)})`,
    );
  if (ratio !== null && ratio > a.maxP99Ratio && canary.p99Ms - stable.p99Ms > a.p99SlackMs)
    failures.push(
      `p99 ${canary.p99Ms} ms is ${ratio}× the stable ${stable.p99Ms} ms, above ${a.maxP99Ratio}×`,
    );
  if (failures.length > 0) return { verdict: 'fail', evidence: evidence(failures.join('; ')) };
  return {
    verdict: 'pass',
    evidence: evidence(
      `error rate ${pct(canary.errorRate)} ≤ ${pct(a.maxErrorRate)}${ratio === null ? '' : `, p99 ×${ratio} ≤ ${a.maxP99Ratio}`} over ${canary.requests} calls`,
    ),
  };
}

function pct(x: number): string {
  return `${Math.round(x * 10_000) / 100} %`;
}

/**
 * Version weights with the new version at `percent`: the others share the rest in the proportions they
 * had when the rollout started (their total kept as the scale, so weights stay readable).
 */
export function weightsAt(
  versions: readonly VersionSpec[],
  canary: string,
  original: Readonly<Record<string, number>>,
  percent: number,
  baseline?: string,
): VersionSpec[] {
  const others = versions.filter((v) => v.name !== canary && v.name !== baseline);
  const total = others.reduce((n, v) => n + (original[v.name] ?? 0), 0);
  const scale = total > 0 ? total : 100;
  // A baseline takes as much as the canary: the stable versions keep what the two leave.
  const taken = baseline !== undefined && percent < 100 ? 2 * percent : percent;
  // Nothing left for the stable versions (the canary alone at 100 %, or with its baseline at 50 %).
  const none = taken >= 100;
  const canaryWeight = none ? scale : Math.round((scale * percent) / (100 - taken));
  return versions.map((v) =>
    v.name === canary
      ? { name: v.name, weight: canaryWeight }
      : v.name === baseline
        ? { name: v.name, weight: percent >= 100 ? 0 : canaryWeight }
        : { name: v.name, weight: none ? 0 : (original[v.name] ?? 0) },
  );
}

/** An operator's action on a rollout, queued for the leader (which runs rollouts). */
export interface RolloutCommand {
  readonly op: 'pause' | 'resume' | 'abort' | 'promote';
  readonly by: string;
  readonly at: string;
}

/**
 * A rollout as it stands once the leader has taken its queued command: the state the command makes,
 * with the command itself as `pending` until then. The answer to pause, resume, abort and promote, and
 * every read after it, so show the change at once.
 */
export function withPendingCommand(
  r: Rollout,
  command: RolloutCommand | undefined,
): Rollout & { readonly pending?: RolloutCommand } {
  if (!command || !ACTIVE.has(r.state)) return r;
  const next: Record<RolloutCommand['op'], RolloutState | undefined> = {
    pause: r.state === 'progressing' ? 'paused' : undefined,
    resume: r.state === 'paused' ? 'progressing' : undefined,
    abort: 'aborted',
    promote: 'promoted',
  };
  const state = next[command.op];
  return state === undefined ? r : { ...r, state, pending: command };
}
