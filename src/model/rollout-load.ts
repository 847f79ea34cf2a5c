/**
 * Like-for-like verdicts: a canary judged on latency is only evidence when it carried a load comparable
 * to the stable version's. One canary instance at 10 % of the calls beside stable instances at 90 % is
 * fast because it is idle, and a verdict that passes it compares unlike things. Load per instance is
 * measured twice: the calls in flight on average over the check (Little's law: the calls' latencies
 * added up over the interval), and the instances' ORCA CPU utilisation when every instance of both
 * sides reports it. Below BUSY by a measure, the stable version is idle by it (calls do not wait on
 * each other) and any load compares.
 */

/** In flight per instance, or CPU utilisation, from which a call can wait on another. */
export const BUSY_IN_FLIGHT = 1;
export const BUSY_CPU = 0.25;

export interface SideLoad {
  /** Instances that served calls of the side over the check. */
  readonly instances: number;
  /** Calls in flight per instance on average over the check. */
  readonly inFlightPerInstance: number;
  /** Calls per second per instance over the check. */
  readonly callsPerSecondPerInstance: number;
  /** Mean ORCA CPU utilisation (0..1) of the side's instances, when each of them reported one. */
  readonly cpuUtilization?: number;
  /** Efficiency: calls per CPU-second (calls / Σ utilisation × seconds), from ORCA. */
  readonly callsPerCpuSecond?: number;
}

export interface LoadComparison {
  readonly canary: SideLoad;
  readonly stable: SideLoad;
  /** The measure the verdict rests on: the one that found the canary lighter, else in flight. */
  readonly measure: 'cpu' | 'in_flight';
  /** canary's load per instance / stable's by that measure (null: the stable side had none). */
  readonly ratio: number | null;
  readonly comparable: boolean;
  readonly reason: string;
}

/** A side's load over a check of `intervalMs` from its calls and its instances' ORCA CPU figures. */
export function sideLoad(
  requests: number,
  sumMs: number,
  intervalMs: number,
  instances: number,
  cpu: readonly (number | undefined)[],
): SideLoad {
  const n = Math.max(1, instances);
  const seconds = Math.max(0.001, intervalMs / 1000);
  const inFlightPerInstance = round(sumMs / Math.max(1, intervalMs) / n);
  const callsPerSecondPerInstance = round(requests / seconds / n);
  const reported = cpu.length > 0 && cpu.every((c) => c !== undefined && c > 0);
  if (!reported) return { instances, inFlightPerInstance, callsPerSecondPerInstance };
  const total = (cpu as number[]).reduce((a, b) => a + b, 0);
  return {
    instances,
    inFlightPerInstance,
    callsPerSecondPerInstance,
    cpuUtilization: round(total / cpu.length),
    callsPerCpuSecond: round(requests / (total * seconds)),
  };
}

/**
 * Both measures where both sides have them (ORCA CPU only when each instance reported it): the canary
 * is lighter when, by either one, the stable version is busy and the canary carried less than
 * `minLoadRatio` of its load per instance (by CPU, its calls per second per instance too).
 */
export function compareLoad(canary: SideLoad, stable: SideLoad, minLoadRatio: number): LoadComparison {
  const measures: { measure: 'cpu' | 'in_flight'; c: number; s: number; busy: number }[] = [
    {
      measure: 'in_flight',
      c: canary.inFlightPerInstance,
      s: stable.inFlightPerInstance,
      busy: BUSY_IN_FLIGHT,
    },
  ];
  if (canary.cpuUtilization !== undefined && stable.cpuUtilization !== undefined)
    measures.push({ measure: 'cpu', c: canary.cpuUtilization, s: stable.cpuUtilization, busy: BUSY_CPU });
  // CPU is what an instance says of its host: lighter by it counts only when its call rate agrees (an
  // instance sharing a host, or reporting between bursts, can read high or low whatever it served).
  const rates =
    stable.callsPerSecondPerInstance > 0
      ? canary.callsPerSecondPerInstance / stable.callsPerSecondPerInstance
      : Infinity;
  const judged = measures.map((m) => {
    const ratio = m.s > 0 ? round(m.c / m.s) : null;
    const lighter =
      minLoadRatio > 0 &&
      m.s >= m.busy &&
      (ratio === null || ratio < minLoadRatio) &&
      (m.measure === 'in_flight' || rates < minLoadRatio);
    const label = m.measure === 'cpu' ? 'CPU' : 'in flight';
    return { ...m, ratio, lighter, figures: `${label} per instance ${m.c} vs ${m.s}` };
  });
  const lighter = judged.find((m) => m.lighter);
  const shown = lighter ?? judged[0];
  return {
    canary,
    stable,
    measure: shown.measure,
    ratio: shown.ratio,
    comparable: lighter === undefined,
    reason: lighter
      ? `the canary carried ${lighter.ratio}× the stable version's load (${lighter.figures}), below minLoadRatio ${minLoadRatio}: as fast only at lighter load is no evidence`
      : `comparable load (${judged.map((m) => m.figures).join('; ')})`,
  };
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
