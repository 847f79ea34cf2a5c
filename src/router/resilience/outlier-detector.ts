import type { OutlierPolicy } from '../../../gen/nerve/discovery/v1/policy';
import { defaultPolicy } from '../../model/policy';
import type { InstanceStats } from '../stats/instance-stats';
import { type Clock, REAL_CLOCK } from './clock';
import { successRateOutliers } from './success-rate';

/** What the detector needs of the routing state. */
export interface EjectionHost {
  /** Stats of the engine's configured instances; undefined once the engine is gone. */
  instancesOf(engine: string): readonly InstanceStats[] | undefined;
  policyOf(engine: string): OutlierPolicy | undefined;
  /** The engine's rotation must be rebuilt (an ejection began or ended). */
  rebuild(engine: string): void;
  ejected(engine: string, instanceId: string, ms: number, reason: string): void;
}

const DEFAULTS: OutlierPolicy = defaultPolicy().outlier!;

/**
 * Passive health (Envoy's outlier detection) in this router: an instance is ejected from rotation after a
 * connection failure, after `consecutiveErrors` failures in a row, or when its success rate over an
 * interval falls far below its peers'. An ejection lasts baseEjectionMs, doubling per ejection in a row (a
 * successful call starts over), up to maxEjectionMs; at most maxEjectionPercent of an engine's instances
 * (at least one) are out at once.
 */
export class OutlierDetector {
  private readonly lastSweep = new Map<string, number>();

  constructor(
    private readonly host: EjectionHost,
    private readonly clock: Clock = REAL_CLOCK,
  ) {}

  policy(engine: string): OutlierPolicy {
    return this.host.policyOf(engine) ?? DEFAULTS;
  }

  /** Ejects the instance unless it is out already or the engine is at its ejection limit. */
  eject(engine: string, stats: InstanceStats, reason: string): boolean {
    const now = this.clock.now();
    const all = this.host.instancesOf(engine);
    if (!all || stats.ejectedUntil > now) return false;
    const p = this.policy(engine);
    let out = 0;
    for (const s of all) if (s.ejectedUntil > now) out++;
    if (out >= Math.max(1, Math.floor((all.length * p.maxEjectionPercent) / 100))) return false;
    const base = p.baseEjectionMs || DEFAULTS.baseEjectionMs;
    const ms = Math.min(base * 2 ** Math.min(stats.ejections, 30), Math.max(base, p.maxEjectionMs));
    stats.ejections++;
    stats.ejectedUntil = now + ms;
    stats.ejectionReason = reason;
    this.host.ejected(engine, stats.instanceId, ms, reason);
    this.host.rebuild(engine);
    this.clock.setTimeout(() => this.host.rebuild(engine), ms + 1);
    return true;
  }

  /** Success-rate ejection for every engine whose interval has passed; resets their interval counts. */
  sweep(engines: Iterable<string>): void {
    const now = this.clock.now();
    for (const engine of engines) {
      const p = this.policy(engine);
      const last = this.lastSweep.get(engine);
      if (last === undefined) this.lastSweep.set(engine, now);
      if (last === undefined || now - last < (p.intervalMs || DEFAULTS.intervalMs)) continue;
      this.lastSweep.set(engine, now);
      const all = this.host.instancesOf(engine) ?? [];
      const samples = all.map((s) => s.takeInterval());
      const outliers = successRateOutliers(samples, {
        minimumHosts: p.successRateMinimumHosts,
        requestVolume: p.successRateRequestVolume,
        stdevFactor: p.successRateStdevFactor,
      });
      for (const i of outliers) {
        const rate = Math.round((100 * samples[i].successes) / samples[i].requests);
        this.eject(engine, all[i], `success rate ${rate} % far below its peers'`);
      }
    }
    for (const engine of this.lastSweep.keys())
      if (!this.host.instancesOf(engine)) this.lastSweep.delete(engine);
  }
}
