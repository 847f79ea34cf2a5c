import type { Unary } from '../commands/unary';
import type { AdminServer } from '../../../gen/nerve/admin/v1/admin';
import { echo } from '../../model/echo';
import type { RolloutOp } from './rollout-module';
import { NerveError } from '../../model/errors';
import type { RolloutAdmin } from './rollout-admin';
import type { WeightsAdmin } from '../weights/weights-admin';

type RolloutHandlers = Pick<
  AdminServer,
  'listRollouts' | 'createRollout' | 'getRollout' | 'actOnRollout' | 'getEngineWeights' | 'pinWeight'
>;

const ACTIONS: readonly string[] = ['pause', 'resume', 'abort', 'promote'];

function parseJson(json: string): unknown {
  try {
    return JSON.parse(json);
  } catch (err) {
    throw new NerveError('INVALID_ARGUMENT', `json is not JSON: ${(err as Error).message}`);
  }
}

/** Rollouts and closed-loop weights on admin gRPC: the same admin as REST, documents as JSON. */
export function rolloutHandlers(
  admin: { readonly rollouts: RolloutAdmin; readonly weights: WeightsAdmin },
  unary: Unary,
): RolloutHandlers {
  const rollouts = () => admin.rollouts;
  return {
    listRollouts: unary(async (r) => ({
      rolloutsJson: rollouts()
        .list(r.engine)
        .map((x) => JSON.stringify(x)),
    })),
    createRollout: unary(async (r, ctx) => ({
      rolloutJson: JSON.stringify(await rollouts().create(r.engine, parseJson(r.json), ctx)),
    })),
    getRollout: unary(async (r) => ({ rolloutJson: JSON.stringify(rollouts().get(r.engine, r.id)) })),
    actOnRollout: unary(async (r, ctx) => {
      if (!ACTIONS.includes(r.action))
        throw new NerveError(
          'INVALID_ARGUMENT',
          `action must be one of ${ACTIONS.join(', ')}, got ${echo(r.action, 20)}`,
        );
      return {
        rolloutJson: JSON.stringify(await rollouts().act(r.engine, r.id, r.action as RolloutOp, ctx)),
      };
    }),
    getEngineWeights: unary(async (r) => ({ json: JSON.stringify(admin.weights.view(r.engine)) })),
    pinWeight: unary(async (r, ctx) => ({
      json: JSON.stringify(
        await admin.weights.pin(r.engine, r.instanceId, r.unpin ? undefined : r.weight, ctx),
      ),
    })),
  };
}
