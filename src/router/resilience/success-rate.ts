export interface SuccessSample {
  readonly requests: number;
  readonly successes: number;
}

export interface SuccessRateRule {
  /** Hosts with enough volume needed before anyone is judged. */
  readonly minimumHosts: number;
  /** Calls a host needs in the interval to be judged (and to count toward the mean). */
  readonly requestVolume: number;
  /** Ejection below mean - stdevFactor × stdev. */
  readonly stdevFactor: number;
}

/**
 * Envoy's success-rate outlier detection: among hosts with at least `requestVolume` calls in the interval,
 * when there are at least `minimumHosts` of them, a host whose success rate is below
 * mean − stdevFactor × stdev (population standard deviation) is an outlier. Returns their indexes.
 */
export function successRateOutliers(samples: readonly SuccessSample[], rule: SuccessRateRule): number[] {
  if (rule.minimumHosts <= 0) return [];
  const judged: number[] = [];
  let sum = 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    if (s.requests < rule.requestVolume || s.requests === 0) continue;
    judged.push(i);
    sum += s.successes / s.requests;
  }
  if (judged.length < rule.minimumHosts) return [];
  const mean = sum / judged.length;
  let variance = 0;
  for (const i of judged) variance += (samples[i].successes / samples[i].requests - mean) ** 2;
  const limit = mean - rule.stdevFactor * Math.sqrt(variance / judged.length);
  return judged.filter((i) => samples[i].successes / samples[i].requests < limit);
}
