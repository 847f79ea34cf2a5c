import type { InstanceLoad } from '../../../gen/nerve/report/v1/report';
import type { ReportReceived } from '../kernel/events';
import { CallAccumulator } from './call-accumulator';

/**
 * Calls added up per key since the key was last taken: the periods a consumer judges by (a rollout's
 * interval per version, the weights' interval per instance) rather than the summary's fixed slots.
 * Every report counts once (each replica hears each router's report once).
 */
export class CallTally {
  private readonly sums = new Map<string, CallAccumulator>();

  /** `keyOf` names a load's key, or undefined to leave it out. */
  constructor(private readonly keyOf: (load: InstanceLoad) => string | undefined) {}

  record(report: ReportReceived): void {
    for (const load of report.loads) {
      if (load.requests === 0) continue;
      const key = this.keyOf(load);
      if (key === undefined) continue;
      let sum = this.sums.get(key);
      if (!sum) this.sums.set(key, (sum = new CallAccumulator()));
      sum.add(load);
    }
  }

  /** The calls of a key since it was last taken (or reset), and starts it afresh. */
  take(key: string): CallAccumulator {
    const sum = this.sums.get(key) ?? new CallAccumulator();
    this.sums.delete(key);
    return sum;
  }

  /** The calls of every key that begins with `prefix`, each taken (started afresh). */
  takePrefix(prefix: string): Map<string, CallAccumulator> {
    const out = new Map<string, CallAccumulator>();
    for (const [key, sum] of this.sums)
      if (key.startsWith(prefix)) {
        out.set(key, sum);
        this.sums.delete(key);
      }
    return out;
  }

  /** Starts every key whose name begins with `prefix` afresh. */
  reset(prefix: string): void {
    for (const key of [...this.sums.keys()]) if (key.startsWith(prefix)) this.sums.delete(key);
  }
}
