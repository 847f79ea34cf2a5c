import { Router } from 'express';
import type { AdminService } from '../../control-plane/admin/admin-service';

/** Liveness and readiness summary, and the deep health of one engine. 503 when nothing can serve. */
export function healthRoutes(admin: AdminService, startedAtMs: number): Router {
  const router = Router();
  router.get('/health', async (_req, res) => {
    const report = await admin.health();
    const count = (status: string) => report.engines.filter((e) => e.status === status).length;
    const instances = report.engines.reduce((n, e) => n + e.totalInstances, 0);
    const healthyInstances = report.engines.reduce((n, e) => n + e.healthyInstances, 0);
    res.status(report.status === 'unhealthy' ? 503 : 200).json({
      status: report.status,
      engines: {
        total: report.engines.length,
        healthy: count('healthy'),
        degraded: count('degraded'),
        unhealthy: count('unhealthy'),
      },
      instances: { total: instances, healthy: healthyInstances },
      xdsClients: admin.xdsClients().length,
      // A store that cannot be reached degrades the system: routing goes on, changes are refused.
      store: report.store,
      replica: report.replica,
      uptimeSeconds: Math.round((Date.now() - startedAtMs) / 1000),
    });
  });
  router.get('/health/:engineId', async (req, res) => {
    const report = await admin.health(req.params.engineId);
    // As /health: a probe reads the status code; unhealthy (no instance can serve) is 503.
    res.status(report.status === 'unhealthy' ? 503 : 200).json(report.engines[0]);
  });
  return router;
}
