import type { Unary } from '../commands/unary';
import type { AdminServer, Engine } from '../../../gen/nerve/admin/v1/admin';
import { NerveError } from '../../model/errors';
import type { AdminService } from './admin-service';
import type { EngineView } from '../views/engine-views';

type SpecPartHandlers = Pick<
  AdminServer,
  'addVersion' | 'setVersionWeight' | 'removeVersion' | 'getPolicy' | 'setPolicy'
>;

/** An engine's versions and policy on admin gRPC: the same SpecPartsAdmin as REST. */
export function specPartHandlers(
  admin: AdminService,
  unary: Unary,
  toProto: (v: EngineView) => Engine,
): SpecPartHandlers {
  const parts = admin.specParts;
  const engine = async (name: string) => ({ engine: toProto(await admin.views.getEngine(name)) });
  const ifMatch = (n: number) => n || undefined;
  return {
    addVersion: unary(async (r, ctx) => {
      await parts.addVersion(r.engine, { name: r.name, weight: r.weight }, ifMatch(r.ifMatch), ctx);
      return engine(r.engine);
    }),
    setVersionWeight: unary(async (r, ctx) => {
      await parts.setVersionWeight(r.engine, r.version, { weight: r.weight }, ifMatch(r.ifMatch), ctx);
      return engine(r.engine);
    }),
    removeVersion: unary(async (r, ctx) => {
      await parts.removeVersion(r.engine, r.version, ifMatch(r.ifMatch), ctx);
      return engine(r.engine);
    }),
    getPolicy: unary(async (r) => ({ policy: (await admin.views.getEngine(r.engine)).policy })),
    setPolicy: unary(async (r, ctx) => {
      let policy: unknown;
      if (r.policyJson !== '')
        try {
          policy = JSON.parse(r.policyJson);
        } catch (err) {
          throw new NerveError('INVALID_ARGUMENT', `policy_json is not JSON: ${(err as Error).message}`);
        }
      await parts.setPolicy(r.engine, policy, ifMatch(r.ifMatch), ctx);
      return engine(r.engine);
    }),
  };
}
