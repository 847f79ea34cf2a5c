import { Router } from 'express';
import type { AdminService } from '../../control-plane/admin/admin-service';
import { intParam, listParam, one, timeParam } from '../query';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Fleet metrics: detail, summary, history, and the Prometheus exposition. */
export function metricsRoutes(admin: AdminService): Router {
  const router = Router();
  router.get('/metrics', (_req, res) => {
    res.json(admin.metrics.detail());
  });
  router.get('/metrics/summary', (req, res) => {
    res.json(admin.metrics.summary({ engines: listParam(req.query, 'engine') }));
  });
  router.get('/metrics/prometheus', async (_req, res) => {
    res.type(PROMETHEUS_CONTENT_TYPE).send(await admin.prometheus());
  });
  router.get('/metrics/history', async (req, res) => {
    const q = req.query as Record<string, unknown>;
    res.json(
      await admin.history({
        engine: one(q, 'engine'),
        instance: one(q, 'instance'),
        metrics: listParam(q, 'metric'),
        fromMs: timeParam(q, 'from'),
        toMs: timeParam(q, 'to'),
        stepMs: intParam(q, 'stepMs', 1_000, 86_400_000),
      }),
    );
  });
  return router;
}
