import { z } from 'zod';
import { type CallMatch, callMatchSchema } from './call-match';
import type { VersionSpec } from './engine';
import { conditionError, parseCondition } from './rollout-condition';
import type { LoadComparison } from './rollout-load';
import { formatIssues, type Result } from './validate';

/** The engines' own service, which synthetic load calls by default. */
const INVOKE_METHOD = '/nerve.engine.v1.Engine/Invoke';

/** What to do when the canary got no call over an interval (`noTraffic`). */
export const NO_TRAFFIC_ACTIONS = ['wait', 'promote', 'rollback'] as const;

/**
 * Flagger's defaults in spirit: a check every interval; the canary fails a check when its error rate is
 * above `maxErrorRate` or its p99 above `maxP99Ratio` × the stable version's; `failedChecks` failed
 * checks roll it back (time to rollback = interval × failedChecks). Fewer than `minRequests` calls is
 * inconclusive, and no call at all is a verdict of its own with its own action.
 */
/**
 * A metric judged from Prometheus at each check (Flagger's `analysis.metrics`, with Argo's conditions):
 * `query` is PromQL with `{{ engine }}`, `{{ version }}` (the canary's), `{{ rollout }}` and
 * `{{ interval }}` (the check's, as a Prometheus duration) filled in. Its first sample must lie within
 * `thresholdRange`, and Argo's `successCondition` / `failureCondition` (see rollout-condition.ts) must say
 * so: a failure condition that holds fails; a success condition that does not hold fails, unless a
 * failure condition is given too (then neither holding is inconclusive). A query that returns nothing,
 * or a Prometheus that does not answer, is inconclusive: the step waits, never fails. `failureLimit`
 * failed measurements over the rollout are tolerated (recorded, the check not failed by them), as Argo's.
 */
const conditionSchema = z
  .string()
  .min(1)
  .max(1_024)
  .superRefine((src, ctx) => {
    const why = conditionError(src);
    if (why) ctx.addIssue({ code: 'custom', message: `not a condition: ${why}` });
  });

export const metricSchema = z
  .strictObject({
    name: z.string().min(1).max(63),
    prometheus: z.strictObject({
      address: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
      query: z.string().min(1).max(4_096),
    }),
    thresholdRange: z
      .strictObject({
        min: z.number().finite().optional(),
        max: z.number().finite().optional(),
      })
      .optional(),
    successCondition: conditionSchema.optional(),
    failureCondition: conditionSchema.optional(),
    failureLimit: z.number().int().min(0).max(1_000).default(0),
  })
  .superRefine((m, ctx) => {
    if (m.thresholdRange && m.thresholdRange.min === undefined && m.thresholdRange.max === undefined)
      ctx.addIssue({ code: 'custom', path: ['thresholdRange'], message: 'give min, max or both' });
    if (!m.thresholdRange && m.successCondition === undefined && m.failureCondition === undefined)
      ctx.addIssue({
        code: 'custom',
        message: 'give a thresholdRange, a successCondition or a failureCondition',
      });
  });

export type Metric = z.output<typeof metricSchema>;

export const analysisSchema = z.strictObject({
  maxErrorRate: z.number().min(0).max(1).default(0.05),
  maxP99Ratio: z.number().min(1).max(100).default(1.5),
  /** A p99 within this many ms of the stable one never fails (a ratio of two tiny latencies is noise). */
  p99SlackMs: z.number().min(0).max(600_000).default(10),
  minRequests: z.number().int().min(1).max(1_000_000).default(20),
  failedChecks: z.number().int().min(1).max(100).default(2),
  noTraffic: z.enum(NO_TRAFFIC_ACTIONS).default('wait'),
  metrics: z.array(metricSchema).max(10).default([]),
  /**
   * Checks in a row at one step that decide nothing (too few calls, no traffic while `noTraffic` is
   * wait, a metric without data, unlike load) before the rollout pauses, saying so: an operator resumes
   * it (to wait longer), promotes or aborts. It never promotes or rolls back on no evidence.
   */
  maxInconclusiveChecks: z.number().int().min(1).max(1_000).default(10),
  /**
   * Like for like (rollout-load.ts): while the stable version is busy, a canary that carried less than
   * this share of its load per instance cannot pass on latency (the check is inconclusive); 0: off.
   */
  minLoadRatio: z.number().min(0).max(1).default(0.5),
  /**
   * The rollout's own calls to the canary while it progresses (enough evidence without waiting for
   * callers): `rps` a second straight to the canary's instances, Engine/Invoke `operation` with
   * `payload`, or another `method` with `payload` as its request message in base64.
   */
  syntheticLoad: z
    .strictObject({
      rps: z.number().min(0.1).max(10_000),
      method: z
        .string()
        .regex(/^\/[\w.]+\/\w+$/, 'give /package.Service/Method')
        .default(INVOKE_METHOD),
      operation: z.string().max(256).default('echo'),
      payload: z.string().max(65_536).default(''),
      timeoutMs: z.number().int().min(10).max(60_000).default(5_000),
    })
    .optional(),
  /**
   * Argo's Experiment: fresh replicas of the stable version, as many as the canary's and at its share
   * of traffic, run beside it (process driver), and the canary is judged against them rather than
   * against the long-running stable fleet: same age, same instance count, same load.
   */
  baseline: z.boolean().default(false),
});

export type SyntheticLoadSpec = NonNullable<z.output<typeof analysisSchema>['syntheticLoad']>;

/**
 * Webhook gates, with Flagger's names and meaning:
 * - `confirm-rollout`: asked before the rollout starts; until it says yes (2xx) the rollout waits.
 * - `pre-rollout`: before the first step's traffic; a no counts as a failed check.
 * - `rollout`: at every check; a no counts as a failed check.
 * - `confirm-traffic-increase`: before each step up; a no holds the weight (the checks go on).
 * - `confirm-promotion`: before promotion; a no holds at the last step.
 * - `post-rollout`: after promotion, rollback or abort; its answer is recorded, nothing more.
 * - `rollback`: asked at every check; a yes (2xx) rolls the rollout back.
 * - `event`: told of every event of the rollout; its answer is not awaited.
 */
export const GATE_TYPES = [
  'confirm-rollout',
  'pre-rollout',
  'rollout',
  'confirm-traffic-increase',
  'confirm-promotion',
  'post-rollout',
  'rollback',
  'event',
] as const;
export type GateType = (typeof GATE_TYPES)[number];

export const webhookSchema = z.strictObject({
  name: z.string().min(1).max(63),
  type: z.enum(GATE_TYPES),
  url: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }),
  /** Per attempt. */
  timeoutMs: z.number().int().min(100).max(60_000).default(10_000),
  /** Further attempts after a timeout, a refused connection or a 5xx (500 ms apart, doubling). */
  retries: z.number().int().min(0).max(5).default(2),
  /** Sent as it is, as Flagger's `metadata`. */
  metadata: z.record(z.string(), z.string().max(4_096)).default({}),
});

export type Webhook = z.output<typeof webhookSchema>;

/**
 * Mirroring (Flagger's `mirror` with `mirrorWeight`): `percent` of the calls the other versions serve is
 * copied to the canary; callers get the stable answer and never wait on the copy.
 */
export const mirrorSchema = z.strictObject({
  percent: z.number().int().min(1).max(100),
});

export const rolloutInputSchema = z
  .strictObject({
    version: z.string().min(1).max(64),
    /**
     * Percent of traffic for the new version at each step, increasing; after the last, promotion. A
     * step of 0 (which may repeat: one check each) keeps the canary at weight 0, reached only by
     * `match` and `mirror`: Flagger's A/B and blue/green-mirroring strategies.
     */
    steps: z.array(z.number().int().min(0).max(100)).min(1).max(50).default([10, 25, 50, 100]),
    intervalMs: z.number().int().min(100).max(86_400_000).default(60_000),
    analysis: analysisSchema.default(analysisSchema.parse({})),
    webhooks: z.array(webhookSchema).max(20).default([]),
    /** Calls matching any rule go to the canary whatever its weight (A/B by header or cookie). */
    match: z.array(callMatchSchema).max(16).default([]),
    mirror: mirrorSchema.optional(),
  })
  .superRefine((r, ctx) => {
    r.steps.forEach((s, i) => {
      if (i > 0 && s <= r.steps[i - 1] && !(s === 0 && r.steps[i - 1] === 0))
        ctx.addIssue({
          code: 'custom',
          path: ['steps', i],
          message: 'steps must increase (only 0 may repeat)',
        });
    });
    if (r.analysis.baseline)
      r.steps.forEach((s, i) => {
        if (s > 50 && !(s === 100 && i === r.steps.length - 1))
          ctx.addIssue({
            code: 'custom',
            path: ['steps', i],
            message:
              'with a baseline, steps go up to 50 (the baseline takes as much as the canary), and a last one may be 100',
          });
      });
    if (r.steps.includes(0) && r.match.length === 0 && r.mirror === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['steps'],
        message: 'a step of 0 sends the canary no call: give match rules (A/B) or mirror, or start above 0',
      });
  });

export type RolloutInput = z.output<typeof rolloutInputSchema>;
export type Mirror = z.output<typeof mirrorSchema>;
export type Analysis = z.output<typeof analysisSchema>;

export function parseRolloutInput(input: unknown): Result<RolloutInput> {
  const parsed = rolloutInputSchema.safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, errors: formatIssues(parsed.error.issues) };
}

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
