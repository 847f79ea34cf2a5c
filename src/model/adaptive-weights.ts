import { z } from 'zod';

/**
 * Closed-loop weights, opt-in per engine (`adaptiveWeights` in its spec). Each interval an instance's
 * weight is its configured weight × a factor in [minFactor, 1]: the target factor is
 * exp(−sensitivity × cost), where cost is how much slower than the fastest instance it answers beyond a
 * tolerance (median latency, Prequal's signal rather than CPU), plus `errorPenalty` × its error rate,
 * plus how much busier it reports itself (ORCA utilisation) than the least busy. The factor moves toward
 * the target by `damping` in log space per interval, so weights converge without oscillating; without
 * enough calls it holds, and after `expireMs` without any it returns to 1 (gRFC A58's expiry).
 */
export const adaptiveWeightsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  intervalMs: z.number().int().min(100).max(600_000).default(5_000),
  minFactor: z.number().min(0.001).max(1).default(0.01),
  sensitivity: z.number().min(0).max(20).default(3),
  /** Latency up to this much above the fastest (0.3: 30 %) costs nothing: noise on a loaded host is not a signal. */
  tolerance: z.number().min(0).max(10).default(0.3),
  /**
   * …and so does latency up to this many ms above it, whatever the ratio: between sub-millisecond medians
   * a scheduler's jitter is a large ratio and no signal (as a rollout's p99SlackMs).
   */
  slackMs: z.number().min(0).max(60_000).default(1),
  /**
   * Reported utilisation up to this much above the least busy instance's costs nothing: instances sample
   * their own load at different moments (several on one host report the same process or machine), so
   * small differences are the sampling's, not the load's.
   */
  utilizationTolerance: z.number().min(0).max(10).default(0.2),
  errorPenalty: z.number().min(0).max(100).default(4),
  damping: z.number().min(0.01).max(1).default(0.5),
  minRequests: z.number().int().min(1).max(1_000_000).default(1),
  expireMs: z.number().int().min(1_000).max(86_400_000).default(180_000),
  /** Operators' fixed weights by instance id: never moved. */
  pinned: z.record(z.string(), z.number().int().min(0).max(1_000_000)).default({}),
});

export type AdaptiveWeights = z.output<typeof adaptiveWeightsSchema>;

/** What an interval measured of one instance. */
export interface WeightInputs {
  readonly requests: number;
  readonly errorRate: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly inFlight: number;
  /** ORCA utilisation (0..1) when the instance reports it. */
  readonly utilization?: number;
}

/** One instance's weight and why. */
export interface InstanceWeight {
  readonly id: string;
  readonly configured: number;
  readonly weight: number;
  readonly factor: number;
  readonly target: number;
  readonly pinned: boolean;
  readonly inputs: WeightInputs;
  readonly reason: string;
  /** When the factor last had data (ms). */
  readonly measuredAtMs: number;
}

const round = (x: number, d = 4) => Math.round(x * 10 ** d) / 10 ** d;

/** The next factors of an engine's instances from an interval's measurements. */
export function nextWeights(
  policy: AdaptiveWeights,
  instances: readonly { id: string; configured: number; inputs: WeightInputs }[],
  previous: ReadonlyMap<string, InstanceWeight>,
  nowMs: number,
): InstanceWeight[] {
  const measured = instances.filter((i) => i.inputs.requests >= policy.minRequests && i.inputs.p50Ms > 0);
  const fastest = Math.min(...measured.map((i) => i.inputs.p50Ms));
  const utils = measured.map((i) => i.inputs.utilization).filter((u): u is number => u !== undefined);
  const leastBusy = utils.length ? Math.min(...utils) : 0;
  return instances.map(({ id, configured, inputs }) => {
    const prev = previous.get(id);
    const pin = policy.pinned[id];
    if (pin !== undefined)
      return {
        id,
        configured,
        weight: pin,
        factor: 1,
        target: 1,
        pinned: true,
        inputs,
        reason: 'pinned by an operator',
        measuredAtMs: nowMs,
      };
    const was = prev?.factor ?? 1;
    if (inputs.requests < policy.minRequests || inputs.p50Ms <= 0) {
      const expired = prev !== undefined && nowMs - prev.measuredAtMs >= policy.expireMs;
      const factor = expired ? 1 : was;
      return {
        id,
        configured,
        weight: weightOf(configured, factor),
        factor,
        target: prev?.target ?? 1,
        pinned: false,
        inputs,
        reason: expired
          ? `no calls for ${policy.expireMs} ms: back to its configured weight`
          : `${inputs.requests} calls, fewer than ${policy.minRequests}: held`,
        measuredAtMs: prev?.measuredAtMs ?? nowMs,
      };
    }
    const slower = inputs.p50Ms / fastest - 1;
    const latencyCost = Math.max(
      0,
      Math.max(0, inputs.p50Ms - policy.slackMs) / fastest - 1 - policy.tolerance,
    );
    const busy =
      inputs.utilization !== undefined
        ? Math.max(0, inputs.utilization - leastBusy - policy.utilizationTolerance)
        : 0;
    const cost = latencyCost + policy.errorPenalty * inputs.errorRate + busy;
    const target = Math.max(policy.minFactor, Math.exp(-policy.sensitivity * cost));
    const factor = Math.min(
      1,
      Math.max(
        policy.minFactor,
        Math.exp((1 - policy.damping) * Math.log(was) + policy.damping * Math.log(target)),
      ),
    );
    const parts = [
      `p50 ${inputs.p50Ms} ms vs fastest ${fastest} ms (×${round(1 + slower, 2)}, ${policy.tolerance * 100} % and ${policy.slackMs} ms tolerated)`,
      `errors ${round(inputs.errorRate * 100, 2)} %`,
      ...(inputs.utilization !== undefined
        ? [
            `utilisation ${round(inputs.utilization, 2)} (least ${round(leastBusy, 2)}, ${policy.utilizationTolerance} tolerated)`,
          ]
        : []),
    ];
    return {
      id,
      configured,
      weight: weightOf(configured, factor),
      factor: round(factor),
      target: round(target),
      pinned: false,
      inputs,
      reason: `${parts.join(', ')}: target ×${round(target, 3)}; ${round(was, 3)} → ${round(factor, 3)}`,
      measuredAtMs: nowMs,
    };
  });
}

/** An instance's weight from its configured weight and factor; never 0 unless configured 0 (it must keep a trickle to be measured). */
export function weightOf(configured: number, factor: number): number {
  if (configured <= 0) return 0;
  return Math.max(1, Math.round(configured * factor));
}

/** Whether new weights differ enough from the published ones to push (relative `deadband`). */
export function moved(
  prev: ReadonlyMap<string, InstanceWeight>,
  next: readonly InstanceWeight[],
  deadband = 0.05,
): boolean {
  for (const w of next) {
    const p = prev.get(w.id);
    if (!p || Math.abs(w.weight - p.weight) > Math.max(1, deadband * p.weight)) return true;
  }
  return next.length !== prev.size;
}
