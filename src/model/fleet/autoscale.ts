import type { AutoscalePolicy } from '../runtime';

/** What the autoscaler saw of an engine at one evaluation. */
export interface ScaleInput {
  /** Replicas the engine runs (its spec's count). */
  readonly current: number;
  /** Instances serving (ready); the metric is per serving instance. */
  readonly ready: number;
  /** Calls in flight over every instance (sum), or undefined when no router reported. */
  readonly inFlight?: number;
  /** The engine's p95 over the summary window, undefined without calls. */
  readonly p95Ms?: number;
  /** Calls the engine served over the summary window (0: none; undefined: not known). */
  readonly requests?: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
}

/** One decision, with everything it was made from: kept, listed and published as it is. */
export interface ScaleDecision {
  readonly atMs: number;
  readonly current: number;
  readonly desired: number;
  /** The HPA recommendation before stabilisation and bounds. */
  readonly recommended: number;
  readonly metric: 'inFlight' | 'p95Ms';
  readonly value: number | null;
  readonly target: number;
  readonly ratio: number | null;
  readonly reason: string;
  readonly dryRun: boolean;
}

/** Recommendations of the recent past (HPA stabilisation windows read them). */
export interface ScaleMemory {
  readonly recommendations: readonly { readonly atMs: number; readonly replicas: number }[];
  /** When the engine last had a call or one in flight (scale to zero's idle clock); absent: never seen. */
  readonly busyAtMs?: number;
}

export const EMPTY_MEMORY: ScaleMemory = { recommendations: [] };

const fmt = (n: number) => String(Math.round(n * 100) / 100);

/**
 * Kubernetes' HPA, for one engine: per serving instance, ratio = value / target; within the tolerance
 * nothing changes; otherwise recommended = ceil(ready × ratio). A scale-up then follows the lowest
 * recommendation of the last scaleUpCooldownMs, a scale-down the highest of the last
 * scaleDownCooldownMs (so one quiet sample cannot shrink the fleet), and the result is bounded by
 * min..max. Without a metric (no router reported, no calls) the engine keeps its size.
 */
export function decideScale(
  policy: AutoscalePolicy,
  input: ScaleInput,
  memory: ScaleMemory,
  nowMs: number,
): { decision: ScaleDecision; memory: ScaleMemory } {
  const metric = policy.targetInFlight !== undefined ? 'inFlight' : 'p95Ms';
  const target = (policy.targetInFlight ?? policy.targetP95Ms)!;
  const base = { atMs: nowMs, current: input.current, metric, target, dryRun: policy.dryRun } as const;
  const busy = (input.requests ?? 0) > 0 || (input.inFlight ?? 0) > 0;
  // The idle clock starts at the first evaluation: an engine never seen busy is idle from then.
  const busyAtMs = busy ? nowMs : (memory.busyAtMs ?? nowMs);
  const zero = policy.scaleToZero;
  if (zero && input.minReplicas === 0 && input.current > 0 && !busy && nowMs - busyAtMs >= zero.idleMs) {
    return {
      decision: {
        ...base,
        desired: 0,
        recommended: 0,
        value: 0,
        ratio: null,
        reason: `no call for ${Math.round((nowMs - busyAtMs) / 1000)} s (scaleToZero after ${zero.idleMs / 1000} s): scaled to zero; the next call starts an instance`,
      },
      memory: { recommendations: [], busyAtMs },
    };
  }
  const decided = decideByMetric(policy, input, memory, nowMs, metric, target, base);
  return { decision: decided.decision, memory: { ...decided.memory, busyAtMs } };
}

function decideByMetric(
  policy: AutoscalePolicy,
  input: ScaleInput,
  memory: ScaleMemory,
  nowMs: number,
  metric: 'inFlight' | 'p95Ms',
  target: number,
  base: Pick<ScaleDecision, 'atMs' | 'current' | 'metric' | 'target' | 'dryRun'>,
): { decision: ScaleDecision; memory: ScaleMemory } {
  const raw =
    metric === 'inFlight'
      ? input.inFlight === undefined
        ? undefined
        : input.inFlight / Math.max(1, input.ready)
      : input.p95Ms;
  const window = Math.max(policy.scaleUpCooldownMs, policy.scaleDownCooldownMs);
  const kept = memory.recommendations.filter((r) => nowMs - r.atMs < window);
  const bounded = (n: number) => Math.min(input.maxReplicas, Math.max(input.minReplicas, n));
  if (raw === undefined || input.ready === 0) {
    const desired = bounded(input.current);
    return {
      decision: {
        ...base,
        desired,
        recommended: input.current,
        value: raw ?? null,
        ratio: null,
        reason:
          desired !== input.current
            ? `no ${metric} measured; brought within ${input.minReplicas}..${input.maxReplicas}`
            : input.ready === 0
              ? 'no instance serving yet: size kept'
              : `no ${metric} measured (no calls reported): size kept`,
      },
      memory: { recommendations: kept },
    };
  }
  const ratio = raw / target;
  const within = Math.abs(ratio - 1) <= policy.tolerance;
  // Counted from serving instances: ones still starting would be counted as idle capacity.
  const recommended = within ? input.current : Math.max(1, Math.ceil(input.ready * ratio));
  const history = [...kept, { atMs: nowMs, replicas: recommended }];
  let stabilised = recommended;
  let held = '';
  if (recommended > input.current) {
    const lowest = Math.min(
      ...history.filter((r) => nowMs - r.atMs < Math.max(1, policy.scaleUpCooldownMs)).map((r) => r.replicas),
    );
    stabilised = Math.max(input.current, lowest);
    if (stabilised < recommended)
      held = `; held to ${stabilised} by scale-up stabilisation (lowest recommendation in ${policy.scaleUpCooldownMs} ms)`;
  } else if (recommended < input.current) {
    const highest = Math.max(
      ...history
        .filter((r) => nowMs - r.atMs < Math.max(1, policy.scaleDownCooldownMs))
        .map((r) => r.replicas),
    );
    stabilised = Math.min(input.current, highest);
    if (stabilised > recommended)
      held = `; held to ${stabilised} by scale-down stabilisation (highest recommendation in ${policy.scaleDownCooldownMs} ms)`;
  }
  const desired = bounded(stabilised);
  const bound =
    desired !== stabilised
      ? `; bounded by ${desired === input.maxReplicas ? 'maxReplicas' : 'minReplicas'} ${desired}`
      : '';
  const what = metric === 'inFlight' ? `in-flight per instance ${fmt(raw)}` : `p95 ${fmt(raw)} ms`;
  const verdict = within
    ? `${what} within ${policy.tolerance * 100} % of target ${target}: no change`
    : `${what} vs target ${target} (×${fmt(ratio)}): recommends ${recommended}`;
  return {
    decision: {
      ...base,
      desired,
      recommended,
      value: raw,
      ratio,
      reason: `${verdict}${held}${bound}`,
    },
    memory: { recommendations: history },
  };
}
