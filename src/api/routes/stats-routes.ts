import { Router } from 'express';
import type { AdminService } from '../../control-plane/admin/admin-service';

/** System statistics. */
export function statsRoutes(admin: AdminService): Router {
  const router = Router();
  router.get('/stats', async (_req, res) => {
    res.json(await admin.stats());
  });
  return router;
}
