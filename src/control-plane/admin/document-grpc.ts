import type { Unary } from '../commands/unary';
import type { AdminServer } from '../../../gen/nerve/admin/v1/admin';
import type { AdminService } from './admin-service';

type DocumentHandlers = Pick<AdminServer, 'getStats' | 'getXdsBootstrap' | 'getMetricsDetail'>;

/**
 * The JSON documents REST serves (/stats, /xds/bootstrap, /metrics) on admin gRPC: the same AdminService
 * calls, the document as JSON text, as the other document-shaped methods answer.
 */
export function documentHandlers(admin: AdminService, unary: Unary): DocumentHandlers {
  return {
    getStats: unary(async () => ({ json: JSON.stringify(await admin.views.stats()) })),
    getXdsBootstrap: unary(async (r) => ({
      json: JSON.stringify(admin.views.bootstrap(r.node || 'nerve-client', r.host || '127.0.0.1')),
    })),
    getMetricsDetail: unary(async () => ({ json: JSON.stringify(admin.views.metrics.detail()) })),
  };
}
