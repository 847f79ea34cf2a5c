import { EngineCircuits } from '../../../gen/nerve/discovery/v1/resources';
import { ENGINE_CIRCUITS_TYPE } from '../../protocol/type-urls';
import type { ResourceType } from './resource-type';

export function engineCircuitsType(
  apply: (circuits: readonly EngineCircuits[]) => void,
): ResourceType<EngineCircuits> {
  return {
    typeUrl: ENGINE_CIRCUITS_TYPE,
    decode: (bytes) => EngineCircuits.decode(bytes),
    validate(circuits) {
      for (const c of circuits) if (!c.engine) return 'EngineCircuits without an engine';
      return undefined;
    },
    apply,
  };
}
