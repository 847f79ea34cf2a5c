import { Router } from 'express';
import { AdminError } from '../../control-plane/admin/admin-error';
import type { AdminService } from '../../control-plane/admin/admin-service';
import { echo } from '../../model/echo';
import { contextOf } from '../errors';

/** ?limit: a number, checked for its range by AdminService (as gRPC's page_size is); absent: 0, the default. */
function pageSize(raw: unknown): number {
  if (raw === undefined) return 0;
  const n = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1)
    throw new AdminError(
      'INVALID_ARGUMENT',
      `limit must be an integer from 1 to 1000, got ${echo(String(raw), 20)}`,
    );
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
    res.json({ engine: await admin.drainInstance(req.params.name, req.params.id, contextOf(req, res)) });
  });
  router.post('/engines/:name/instances/:id/undrain', async (req, res) => {
    res.json({ engine: await admin.undrainInstance(req.params.name, req.params.id, contextOf(req, res)) });
  });
  return router;
}
