import type { Unary } from '../commands/unary';
import type { AdminServer } from '../../../gen/nerve/admin/v1/admin';
import type { AdminService } from './admin-service';

type ExplainHandlers = Pick<AdminServer, 'explainEngineAt'>;

/** Routing decisions explained on admin gRPC: the same EngineExplainer as REST /explain. */
export function explainHandlers(admin: AdminService, unary: Unary): ExplainHandlers {
  return {
    explainEngineAt: unary(async (r) => {
      const v = await admin.explain.at(r.engine, r.atMs === 0 ? Date.now() : r.atMs);
      return {
        engine: v.engine,
        at: v.at,
        configVersion: v.configVersion,
        configured: v.configured,
        versions: v.versions.map((x) => ({ name: x.name, weight: x.weight, sharePercent: x.sharePercent })),
        strategy: v.strategy ?? '',
        instances: v.instances.map((i) => ({ ...i, reasons: [...i.reasons] })),
        recent: v.recent.map((c) => ({ at: c.at, what: c.what, by: c.by ?? '', instance: c.instance ?? '' })),
        transitionsPerEngine: v.retention.transitionsPerEngine,
        transitionsFrom: v.retention.transitionsFrom ?? '',
        policyJson: v.policy === undefined ? '' : JSON.stringify(v.policy),
      };
    }),
  };
}
