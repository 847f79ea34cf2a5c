import { Router } from 'express';
import type { AdminService } from '../../control-plane/admin/admin-service';

/** System statistics, and the control plane's metrics for Prometheus. */
export function statsRoutes(admin: AdminService): Router {
  const router = Router();
  router.get('/stats', async (_req, res) => {
    res.json(await admin.stats());
  });
  router.get('/metrics/prometheus', async (_req, res) => {
    res.type('text/plain; version=0.0.4').send(await admin.prometheus());
  });
  return router;
}
