import { Router } from 'express';
import { AdminError } from '../../control-plane/admin/admin-error';
import type { AdminService } from '../../control-plane/admin/admin-service';

function pageSize(raw: unknown): number {
  if (raw === undefined) return 100;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 1000)
    throw new AdminError('INVALID_ARGUMENT', `limit must be an integer from 1 to 1000, got "${String(raw)}"`);
  return n;
}

/** Engines: list (cursor pagination), one, and instance lifecycle operations. */
export function engineRoutes(admin: AdminService): Router {
  const router = Router();
  router.get('/engines', async (req, res) => {
    const cursor = typeof req.query.cursor === 'string' ? req.query.cursor : '';
    const page = await admin.listEngines(pageSize(req.query.limit), cursor);
    res.json({ engines: page.engines, nextCursor: page.nextPageToken || null });
  });
  router.get('/engines/:name', async (req, res) => {
    res.json({ engine: await admin.getEngine(req.params.name) });
  });
  router.post('/engines/:name/instances/:id/drain', async (req, res) => {
    res.json({ engine: await admin.drainInstance(req.params.name, req.params.id) });
  });
  return router;
}
