import * as S from '../http/schemas';
import type { Routes } from '../http/route-table';
import type { AdminService } from '../../control-plane/admin/admin-service';
import { timeParam } from '../http/query';
import { HEALTH_RULES } from '../../control-plane/views/health-report';

/** Liveness and readiness summary, and the deep health of one engine. 503 when nothing can serve. */
export function healthRoutes(r: Routes, admin: AdminService, startedAtMs: number): void {
  r.get(
    '/health',
    'public',
    {
      summary: 'System health: engines, instances, the store, this replica',
      response: S.healthSummary,
      sameBodyStatus: 503,
    },
    async (_req, res) => {
      const report = await admin.views.health();
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
        xdsClients: admin.views.xdsClientCount(),
        // A store that cannot be reached degrades the system: routing goes on, changes are refused.
        store: report.store,
        replica: report.replica,
        uptimeSeconds: Math.round((Date.now() - startedAtMs) / 1000),
        rules: HEALTH_RULES,
      });
    },
  );
  // Liveness: the process answers. Readiness: listening with its configuration, not shutting down
  // (an unreachable store does not make it unready: it serves its last state).
  r.get('/health/live', 'public', 'Liveness: the process answers', (_req, res) => {
    res.json({ status: 'alive', uptimeSeconds: Math.round((Date.now() - startedAtMs) / 1000) });
  });
  r.get(
    '/health/ready',
    'public',
    { summary: 'Readiness: listening with its configuration', sameBodyStatus: 503 },
    (_req, res) => {
      const r = admin.views.readiness();
      res.status(r.ready ? 200 : 503).json({
        status: r.ready ? 'ready' : 'not_ready',
        ...(r.reason && { reason: r.reason }),
        store: admin.views.store(),
      });
    },
  );
  r.get(
    '/health/:engineId',
    // Addresses and per-instance figures: for callers with a role, not for anyone who can reach the port.
    'viewer',
    {
      summary: 'Deep health of one engine and its instances (?since= adds history)',
      query: S.sinceQuery,
      sameBodyStatus: 503,
    },
    async (req, res) => {
      const report = await admin.views.health(req.params.engineId);
      const since = timeParam(req.query as Record<string, unknown>, 'since');
      const engine = report.engines[0];
      const body =
        since === undefined
          ? engine
          : { ...engine, history: await admin.views.healthHistory(engine.name, since) };
      // As /health: a probe reads the status code; unhealthy (no instance can serve) is 503.
      res.status(report.status === 'unhealthy' ? 503 : 200).json(body);
    },
  );
}
