import { z } from 'zod';
import { callMatchSchema } from './call-match';
import { conditionError } from './rollout-condition';
import { formatIssues, type Result } from './validate';

/**
 * What an operator asks of a rollout (POST /engines/:name/rollouts, admin CreateRollout), as validated:
 * its steps, analysis, gates and routing. What a rollout is once running, and the rules that judge
 * it, are in rollout.ts.
 */

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
