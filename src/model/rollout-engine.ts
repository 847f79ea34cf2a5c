import type { EngineSpec } from './engine';
import { type Rollout, weightsAt } from './rollout';
import { BASELINE_SUFFIX, desiredReplicas } from './runtime';

/**
 * The engine as a rollout at `percent` wants it: the new version at its share (a baseline beside it at
 * the same), the others in their original proportions; with the process driver, the canary's replicas
 * ceil(total × share) (and as many baseline replicas), the stable ones untouched. `end`: promotion
 * makes the new version the runtime's, an end takes the canary and baseline replicas away. At weight 0
 * a canary reached by match rules or mirroring keeps its replicas.
 */
export function atRolloutWeight(
  current: EngineSpec,
  r: Rollout,
  percent: number,
  end?: 'promote' | 'end',
): EngineSpec {
  const declared = [...current.versions];
  for (const name of [r.version, r.baseline])
    if (name !== undefined && !declared.some((v) => v.name === name)) declared.push({ name, weight: 0 });
  // A baseline label leaves the versions once none of its instances is left.
  const kept = declared.filter(
    (v) =>
      !v.name.endsWith(BASELINE_SUFFIX) ||
      v.name === r.baseline ||
      current.instances.some((i) => i.version === v.name),
  );
  const versions = weightsAt(kept, r.version, r.original, percent, r.baseline);
  const rt = current.runtime;
  if (rt?.driver !== 'process') return { ...current, versions };
  const serves = end === undefined && (percent > 0 || (r.match ?? []).length > 0 || r.mirror !== undefined);
  const { canary: _drop, baseline: _gone, ...base } = rt;
  void _drop;
  void _gone;
  const replicas = Math.max(1, Math.ceil((desiredReplicas(rt) * percent) / 100));
  const runtime =
    end === 'promote'
      ? { ...base, version: r.version }
      : serves
        ? {
            ...base,
            canary: { version: r.version, replicas },
            // At 100 % the canary takes everything: nothing is left to share with a baseline.
            ...(r.baseline !== undefined && percent < 100 && { baseline: { replicas } }),
          }
        : base;
  return { ...current, versions, runtime };
}
