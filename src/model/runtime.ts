import { z } from 'zod';

/** Drivers an engine's runtime may name; each is one file under control-plane/fleet/drivers. */
export const DRIVERS = ['static', 'process'] as const;
export type DriverName = (typeof DRIVERS)[number];

const ms = z.number().int().min(0);

/**
 * Supervision of crashed instances. Kubernetes' CrashLoopBackOff (10 s doubling to 5 min) is too slow
 * for engines that crash on a bad input; PM2's (×1.5 to 15 s) never gives up. Defaults: 1 s doubling to
 * 30 s, reset once an instance stayed up 60 s, and a crash loop declared after 5 crashes in a row.
 */
export const restartSchema = z.strictObject({
  initialBackoffMs: ms.max(600_000).default(1_000),
  maxBackoffMs: ms.max(3_600_000).default(30_000),
  multiplier: z.number().min(1).max(10).default(2),
  resetAfterMs: ms.max(3_600_000).default(60_000),
  /** Crashes in a row (none lasting resetAfterMs) before supervision stops and raises crash_loop. */
  maxRestarts: z.number().int().min(0).max(1_000).default(5),
});

/** How a managed instance leaves: drained and pushed, in-flight calls waited for, then signalled. */
export const stopSchema = z.strictObject({
  /** Longest wait for routers to report no call in flight after the drain was pushed. */
  drainTimeoutMs: ms.max(600_000).default(30_000),
  /** SIGTERM, then SIGKILL after this. */
  graceMs: ms.max(600_000).default(10_000),
});

/**
 * Scale to zero (Knative's and KEDA's): after `idleMs` without a call the engine stops its last instance;
 * a call that then arrives is held by the router (at most `maxHeldCalls` per router, each at most
 * `holdTimeoutMs`) while the control plane, told at once, starts one, and goes out when it serves.
 */
export const scaleToZeroSchema = z.strictObject({
  idleMs: ms.min(1_000).max(86_400_000).default(300_000),
  maxHeldCalls: z.number().int().min(1).max(100_000).default(1_000),
  holdTimeoutMs: ms.min(100).max(600_000).default(30_000),
});

/** HPA's algorithm: desired = ceil(current × value / target), within a tolerance, with stabilisation. */
export const autoscaleSchema = z
  .strictObject({
    /** Calls in flight per instance the engine should run at (Prequal: in-flight predicts latency). */
    targetInFlight: z.number().positive().optional(),
    targetP95Ms: z.number().positive().optional(),
    /** A scale-up follows the lowest recommendation of this window (HPA scaleUp stabilisation: 0). */
    scaleUpCooldownMs: ms.max(3_600_000).default(0),
    /** A scale-down follows the highest recommendation of this window (HPA: 300 s). */
    scaleDownCooldownMs: ms.max(3_600_000).default(300_000),
    /** No change while |value / target − 1| is at most this (HPA: 0.1). */
    tolerance: z.number().min(0).max(1).default(0.1),
    /** How often the leader evaluates (HPA: 15 s). */
    syncMs: z.number().int().min(100).max(600_000).default(15_000),
    /** Decide and report, change nothing. */
    dryRun: z.boolean().default(false),
    /** Down to no instance when idle, up again on the first call (needs minReplicas 0). */
    scaleToZero: scaleToZeroSchema.optional(),
  })
  .refine((a) => (a.targetInFlight === undefined) !== (a.targetP95Ms === undefined), {
    message: 'set exactly one of targetInFlight and targetP95Ms',
  });

export const runtimeSchema = z
  .strictObject({
    driver: z
      .enum(DRIVERS, {
        error: (i) => `unknown driver ${JSON.stringify(i.input)}; known: ${DRIVERS.join(', ')}`,
      })
      .default('static'),
    command: z.string().min(1).max(4096).optional(),
    args: z.array(z.string().max(4096)).max(256).default([]),
    env: z
      .record(
        z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name'),
        z.string(),
      )
      .default({}),
    cwd: z.string().min(1).optional(),
    /** The host in managed instances' addresses (where routers reach them). */
    host: z.string().min(1).default('127.0.0.1'),
    /** The version managed instances run (default: the engine's first). */
    version: z.string().min(1).optional(),
    replicas: z.number().int().min(0).max(1_000).optional(),
    minReplicas: z.number().int().min(0).max(1_000).default(1),
    maxReplicas: z.number().int().min(1).max(1_000).default(10),
    /** How long a started instance may take to answer its health check. */
    startTimeoutMs: z.number().int().min(100).max(600_000).default(30_000),
    restart: restartSchema.default(restartSchema.parse({})),
    stop: stopSchema.default(stopSchema.parse({})),
    autoscale: autoscaleSchema.optional(),
    /** A rollout's new version and its replicas, run beside the runtime's version (set by rollouts). */
    canary: z
      .strictObject({ version: z.string().min(1), replicas: z.number().int().min(0).max(1_000) })
      .optional(),
    /**
     * A rollout's baseline (set by rollouts with `analysis.baseline`): replicas of the runtime's version
     * started fresh beside the canary, listed as version `<version>+baseline` so routing gives them the
     * canary's share and the analysis compares like with like.
     */
    baseline: z.strictObject({ replicas: z.number().int().min(0).max(1_000) }).optional(),
  })
  .superRefine((r, ctx) => {
    if (r.minReplicas > r.maxReplicas)
      ctx.addIssue({
        code: 'custom',
        path: ['minReplicas'],
        message: `must not exceed maxReplicas (${r.maxReplicas})`,
      });
    if (r.replicas !== undefined && (r.replicas < r.minReplicas || r.replicas > r.maxReplicas))
      ctx.addIssue({
        code: 'custom',
        path: ['replicas'],
        message: `must be within minReplicas..maxReplicas (${r.minReplicas}..${r.maxReplicas})`,
      });
    if (r.canary && r.driver !== 'process')
      ctx.addIssue({ code: 'custom', path: ['canary'], message: 'canary replicas need the process driver' });
    if (r.baseline && r.driver !== 'process')
      ctx.addIssue({
        code: 'custom',
        path: ['baseline'],
        message: 'baseline replicas need the process driver',
      });
    if (r.driver === 'process' && r.command === undefined)
      ctx.addIssue({ code: 'custom', path: ['command'], message: 'the process driver needs a command' });
    if (r.autoscale?.scaleToZero && r.minReplicas !== 0)
      ctx.addIssue({
        code: 'custom',
        path: ['autoscale', 'scaleToZero'],
        message: `needs minReplicas 0 (it is ${r.minReplicas})`,
      });
    if (r.driver === 'static' && (r.autoscale || r.replicas !== undefined))
      ctx.addIssue({
        code: 'custom',
        path: [r.autoscale ? 'autoscale' : 'replicas'],
        message:
          'a static engine cannot be scaled: its instances are managed elsewhere (use driver "process")',
      });
  });

export type RuntimeSpec = z.output<typeof runtimeSchema>;
export type RestartPolicy = z.output<typeof restartSchema>;
export type AutoscalePolicy = z.output<typeof autoscaleSchema>;
export type ScaleToZeroPolicy = z.output<typeof scaleToZeroSchema>;

/** A version label for the fresh replicas of `version` a rollout's baseline runs (Argo's Experiment). */
export const BASELINE_SUFFIX = '+baseline';

export function baselineVersion(version: string): string {
  return `${version}${BASELINE_SUFFIX}`;
}

/** The version whose code an instance runs: a baseline's label runs its stable version. */
export function codeVersion(label: string): string {
  return label.endsWith(BASELINE_SUFFIX) ? label.slice(0, -BASELINE_SUFFIX.length) : label;
}

/** The replicas a managed engine should run now: set by scale or the autoscaler, else its minimum. */
export function desiredReplicas(r: RuntimeSpec): number {
  return r.replicas ?? r.minReplicas;
}

/** The delay before restart number `crashes` (1 = after the first crash). */
export function restartDelayMs(crashes: number, p: RestartPolicy): number {
  if (crashes <= 0) return 0;
  const delay = p.initialBackoffMs * Math.pow(p.multiplier, crashes - 1);
  return Math.min(p.maxBackoffMs, Math.round(delay));
}

/**
 * What supervision does after an exit: the crash count so far (reset when the instance stayed up
 * `resetAfterMs`), and whether to restart (after `delayMs`) or stop in a crash loop.
 */
export function afterExit(
  prevCrashes: number,
  upMs: number,
  p: RestartPolicy,
): { crashes: number; restart: boolean; delayMs: number } {
  const crashes = upMs >= p.resetAfterMs ? 1 : prevCrashes + 1;
  if (crashes > p.maxRestarts) return { crashes, restart: false, delayMs: 0 };
  return { crashes, restart: true, delayMs: restartDelayMs(crashes, p) };
}
