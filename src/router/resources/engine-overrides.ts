import { EngineOverrides } from '../../../gen/nerve/discovery/v1/resources';
import { ENGINE_OVERRIDES_TYPE } from '../../protocol/type-urls';
import type { ResourceType } from './resource-type';

/**
 * An engine's runtime overrides (drains, pinned or closed-loop weights, a rollout's weights and canary
 * route), held apart from its base EngineCluster so that they can expire with their TTL.
 */
export function engineOverridesType(
  apply: (overrides: readonly EngineOverrides[]) => void,
): ResourceType<EngineOverrides> {
  return {
    typeUrl: ENGINE_OVERRIDES_TYPE,
    decode: (bytes) => EngineOverrides.decode(bytes),
    validate(overrides) {
      const engines = new Set<string>();
      for (const o of overrides) {
        if (!o.engine) return 'EngineOverrides without an engine';
        if (engines.has(o.engine)) return `duplicate EngineOverrides "${o.engine}"`;
        engines.add(o.engine);
        const ids = new Set<string>();
        for (const e of o.endpoints) {
          if (!e.id) return `EngineOverrides "${o.engine}": an endpoint has no id`;
          if (ids.has(e.id)) return `EngineOverrides "${o.engine}": duplicate endpoint "${e.id}"`;
          ids.add(e.id);
        }
        if (o.versions.length > 0 && !o.versions.some((v) => v.weight > 0))
          return `EngineOverrides "${o.engine}": no version has a weight above 0`;
      }
      return undefined;
    },
    apply,
  };
}
