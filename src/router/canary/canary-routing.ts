import type { CanaryRoute, EngineCluster } from '../../../gen/nerve/discovery/v1/resources';
import type { Picker, RoutableEndpoint } from '../balancer/picker';
import type { HeaderList } from '../http/headers';
import { CallMatcher } from './call-matcher';

/** Mirror copies one router keeps in flight per engine at most; past it, calls are not copied. */
export const MAX_MIRRORS_IN_FLIGHT = 64;

/** Builds a picker over part of an engine's cluster (the router's strategy, breakers and ejections). */
export type PickerBuilder = (cluster: EngineCluster) => Picker;

/**
 * An engine's rollout routing in one router, beside its weighted picker:
 * - calls that match the rollout's rules go to the canary version, whatever its weight;
 * - a call with a session key (x-nerve-session) keeps one version: the key's hash against the canary's
 *   share decides, so a session moved to the canary as its share grows stays there;
 * - `mirrorPercent` of the calls the other versions serve are copied to a canary instance.
 * Built per configuration change; the pickers are rebuilt with the engine's (circuits, ejections).
 */
export class CanaryRouting {
  readonly version: string;
  readonly rollout: string;
  readonly matcher: CallMatcher;
  readonly mirrorPercent: number;
  /** The canary version's share of the engine's weight (0..1), for sessions. */
  readonly share: number;
  canaryPicker!: Picker;
  stablePicker!: Picker;
  /** Mirror copies in flight. */
  mirrorsInFlight = 0;
  /** Calls copied, and calls not copied because MAX_MIRRORS_IN_FLIGHT were out (admin page, metrics). */
  mirrored = 0;
  mirrorsSkipped = 0;
  /** Percent points accumulated toward the next copy: every call adds mirrorPercent, 100 copies one. */
  private mirrorCredit = 0;
  private readonly canaryCluster: EngineCluster;
  private readonly stableCluster: EngineCluster;

  constructor(route: CanaryRoute, cluster: EngineCluster, build: PickerBuilder) {
    this.version = route.version;
    this.rollout = route.rollout;
    this.matcher = new CallMatcher(route.match);
    this.mirrorPercent = Math.min(100, route.mirrorPercent);
    const total = cluster.versions.reduce((n, v) => n + v.weight, 0);
    const own = cluster.versions.find((v) => v.name === route.version)?.weight ?? 0;
    this.share = total > 0 ? own / total : 0;
    this.canaryCluster = {
      ...cluster,
      versions: [{ name: route.version, weight: 1 }],
      endpoints: cluster.endpoints.filter((e) => e.version === route.version),
    };
    this.stableCluster = {
      ...cluster,
      versions: cluster.versions.filter((v) => v.name !== route.version),
      endpoints: cluster.endpoints.filter((e) => e.version !== route.version),
    };
    this.rebuild(build);
  }

  rebuild(build: PickerBuilder): void {
    this.canaryPicker = build(this.canaryCluster);
    this.stablePicker = build(this.stableCluster);
  }

  /** Whether a call with these headers goes to the canary by the rollout's match rules. */
  matches(headers: HeaderList): boolean {
    return !this.matcher.empty && this.matcher.matches(headers);
  }

  /**
   * The picker for a call, or undefined for the engine's own: the canary's for a call that `matched`,
   * and for a session, the version its key falls in.
   */
  pickerFor(matched: boolean, sessionKey: string | undefined): Picker | undefined {
    if (matched) return this.canaryPicker;
    if (sessionKey === undefined) return undefined;
    return keyPoint(sessionKey) < this.share ? this.canaryPicker : this.stablePicker;
  }

  /** Whether this call served by `served` is copied to the canary (deterministic: every 100/percent-th). */
  mirrors(served: RoutableEndpoint): boolean {
    if (this.mirrorPercent === 0 || served.version === this.version) return false;
    this.mirrorCredit += this.mirrorPercent;
    if (this.mirrorCredit < 100) return false;
    this.mirrorCredit -= 100;
    if (this.mirrorsInFlight >= MAX_MIRRORS_IN_FLIGHT) {
      this.mirrorsSkipped++;
      return false;
    }
    return true;
  }
}

/** A session key's point in [0, 1): FNV-1a, so every router puts a key at the same point. */
export function keyPoint(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) / 0x1_0000_0000;
}
