import type { EngineSpec, VersionSpec } from '../../model/engine';
import { ACTIVE, weightsAt } from '../../model/rollout';
import type { ConfigStore } from '../../store/config-store';
import { ROLLOUTS_NS } from './rollout-module';

/**
 * The engine's version weights as they were before its active rollout began: the new version (and its
 * baseline) at 0, every other version at the weight it had. What a data plane that lost every control
 * plane falls back to once the rollout's weights expire (xDS resource TTL); no rollout: the spec's own.
 */
export function baseVersions(store: ConfigStore, spec: EngineSpec): readonly VersionSpec[] {
  for (const r of ROLLOUTS_NS.values(store)) {
    if (r.engine !== spec.name || !ACTIVE.has(r.state) || r.step < 0) continue;
    const before = weightsAt(spec.versions, r.version, r.original, 0, r.baseline);
    // A base that routes nowhere would be refused by every router: the served weights stand instead.
    return before.some((v) => v.weight > 0) ? before : spec.versions;
  }
  return spec.versions;
}
