import type * as grpc from '@grpc/grpc-js';
import type { AdminServer } from '../../../gen/nerve/admin/v1/admin';
import { echo } from '../../model/echo';
import type { RolloutOp } from '../rollouts/rollout-module';
import type { AdminContext } from './admin-context';
import { NerveError } from '../../model/errors';
import type { AdminService } from './admin-service';

type Unary = <Req, Res>(fn: (req: Req, ctx: AdminContext) => Promise<Res>) => grpc.handleUnaryCall<Req, Res>;

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
export function rolloutHandlers(admin: AdminService, unary: Unary): RolloutHandlers {
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
