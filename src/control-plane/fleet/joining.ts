import { echo } from '../../model/echo';
import type { EngineSpec } from '../../model/engine';
import { defaultEngine } from '../../model/policy';
import { NerveError } from '../../model/errors';

/**
 * The engine an instance joins (added by an operator, or registering itself), and its version: the
 * engine created when asked, refused when its instances are supervised, and a version the spec does not
 * list yet added at weight 0 (no traffic until a rollout or an operator gives it some).
 */
export function engineToJoin(
  current: EngineSpec | undefined,
  input: { readonly engine: string; readonly version?: string; readonly createEngine?: boolean },
): { base: EngineSpec; version: string } {
  if (!current && !input.createEngine)
    throw new NerveError(
      'NOT_FOUND',
      `engine ${echo(input.engine)} not found (set create_engine to create it)`,
    );
  if (current?.runtime?.driver === 'process')
    throw new NerveError(
      'FAILED_PRECONDITION',
      `engine ${echo(input.engine)} runs its instances with the process driver: they are supervised (scale it), not added or registered`,
    );
  const base = current ?? defaultEngine(input.engine, input.version);
  const version = input.version || base.versions[0].name;
  if (base.versions.some((v) => v.name === version)) return { base, version };
  return { base: { ...base, versions: [...base.versions, { name: version, weight: 0 }] }, version };
}
