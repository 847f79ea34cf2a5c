import { Router } from 'express';
import type { AdminService } from '../../control-plane/admin/admin-service';
import type { EntryAdmin, EntryView } from '../../control-plane/admin/entry-admin';
import { contextOf } from '../errors';
import { etag, ifMatch } from '../if-match';
import { one } from '../query';

/** CRUD of one configuration kind under `path` (each entry with its ETag), as DESIGN §2b lists them. */
function entryRoutes(
  router: Router,
  path: string,
  entries: () => EntryAdmin,
  key: string,
  patchable: boolean,
): void {
  const send = (res: import('express').Response, e: EntryView, status = 200) =>
    res
      .status(status)
      .set('etag', etag(e.revision))
      .json({ ...(e.value as object), revision: e.revision });
  router.get(path, (_req, res) => {
    res.json({
      [key]: entries()
        .list()
        .map((e) => ({ ...(e.value as object), revision: e.revision })),
    });
  });
  router.post(path, async (req, res) =>
    send(res, await entries().create(req.body, contextOf(req, res)), 201),
  );
  router.get(`${path}/:name`, (req, res) => send(res, entries().get(req.params.name)));
  router.put(`${path}/:name`, async (req, res) =>
    send(res, await entries().replace(req.params.name, req.body, ifMatch(req), contextOf(req, res))),
  );
  if (patchable)
    router.patch(`${path}/:name`, async (req, res) =>
      send(res, await entries().patch(req.params.name, req.body, ifMatch(req), contextOf(req, res))),
    );
  router.delete(`${path}/:name`, async (req, res) => {
    await entries().delete(req.params.name, ifMatch(req), contextOf(req, res));
    res.status(204).end();
  });
}

/** Alerts, their rules, notification channels and silences. */
export function alertRoutes(admin: AdminService): Router {
  const router = Router();
  router.get('/alerts', (req, res) => {
    const q = req.query as Record<string, unknown>;
    res.json({
      alerts: admin.alerts.list({
        state: one(q, 'state'),
        severity: one(q, 'severity'),
        engine: one(q, 'engine'),
      }),
    });
  });
  router.get('/alerts/stats', (_req, res) => {
    res.json(admin.alerts.stats());
  });
  router.post('/alerts/:id/ack', async (req, res) => {
    res.json({ alert: await admin.alerts.acknowledge(req.params.id, contextOf(req, res)) });
  });
  entryRoutes(router, '/alert-rules', () => admin.alerts.rules, 'rules', true);
  entryRoutes(router, '/notification-channels', () => admin.alerts.channels, 'channels', true);
  entryRoutes(router, '/silences', () => admin.alerts.silences, 'silences', false);
  return router;
}
