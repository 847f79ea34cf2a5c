import type { Routes } from '../http/route-table';
import type { AdminService } from '../../control-plane/admin/admin-service';

/** System statistics. */
export function statsRoutes(r: Routes, admin: AdminService): void {
  r.get('/stats', 'viewer', 'System statistics', async (_req, res) => {
    res.json(await admin.views.stats());
  });
}
