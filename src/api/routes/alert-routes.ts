import type { z } from 'zod';
import * as S from '../http/schemas';
import { entryKinds } from '../../model/kinds/config-kinds';
import type { Routes } from '../http/route-table';
import type { Role } from '../../model/security/roles';
import type { AdminService } from '../../control-plane/admin/admin-service';
import type { EntryAdmin, EntryView } from '../../control-plane/commands/entry-admin';
import { contextOf } from '../http/errors';
import { etag, ifMatch } from '../http/if-match';
import { flag, one } from '../http/query';
import { NerveError } from '../../model/errors';
import { echo } from '../../model/echo';

/** CRUD of one configuration kind under `path` (each entry with its ETag), as lists them. */
function entryRoutes(
  r: Routes,
  path: string,
  entries: () => EntryAdmin,
  key: string,
  patchable: boolean,
  writer: Role,
  what: string,
  schema: z.ZodType,
): void {
  const send = (res: import('express').Response, e: EntryView, status = 200) =>
    res
      .status(status)
      .set('etag', etag(e.revision))
      .json({ ...(e.value as object), revision: e.revision });
  r.get(path, 'viewer', `List ${what}s`, (_req, res) => {
    res.json({
      [key]: entries()
        .list()
        .map((e) => ({ ...(e.value as object), revision: e.revision })),
    });
  });
  r.post(path, writer, { summary: `Create a ${what}`, body: schema, status: 201 }, async (req, res) =>
    send(res, await entries().create(req.body, contextOf(req, res)), 201),
  );
  r.get(`${path}/:name`, 'viewer', `One ${what}`, (req, res) => send(res, entries().get(req.params.name)));
  r.put(`${path}/:name`, writer, { summary: `Create or replace a ${what}`, body: schema }, async (req, res) =>
    send(res, await entries().replace(req.params.name, req.body, ifMatch(req), contextOf(req, res))),
  );
  if (patchable)
    r.patch(`${path}/:name`, writer, `Merge-patch a ${what}`, async (req, res) =>
      send(res, await entries().patch(req.params.name, req.body, ifMatch(req), contextOf(req, res))),
    );
  r.delete(`${path}/:name`, writer, { summary: `Delete a ${what}`, status: 204 }, async (req, res) => {
    await entries().delete(req.params.name, ifMatch(req), contextOf(req, res));
    res.status(204).end();
  });
}

/** Alerts, and every kind served as plain entries (rules, channels, silences, inhibit rules). */
export function alertRoutes(r: Routes, admin: AdminService): void {
  r.get(
    '/alerts',
    'viewer',
    { summary: 'Alerts (?state=&severity=&engine=)', query: S.alertsQuery },
    (req, res) => {
      const q = req.query as Record<string, unknown>;
      res.json({
        alerts: admin.alerts.views.list({
          state: one(q, 'state'),
          severity: one(q, 'severity'),
          engine: one(q, 'engine'),
        }),
      });
    },
  );
  r.get('/alerts/stats', 'viewer', 'Alert statistics', (_req, res) => {
    res.json(admin.alerts.views.stats());
  });
  r.post(
    '/alerts/:id/actions/:index/approve',
    'operator',
    'Approve an alert action waiting for approval (the leader takes it)',
    async (req, res) => {
      const index = Number(req.params.index);
      if (!Number.isInteger(index) || index < 0 || index > 4)
        throw new NerveError('INVALID_ARGUMENT', `index must be 0 to 4, got ${echo(req.params.index, 10)}`);
      res.json({ alert: await admin.alerts.approveAction(req.params.id, index, contextOf(req, res)) });
    },
  );
  r.post('/alerts/:id/ack', 'operator', 'Acknowledge an alert', async (req, res) => {
    res.json({ alert: await admin.alerts.acknowledge(req.params.id, contextOf(req, res)) });
  });
  r.post(
    '/alerting/alertmanager-config',
    'admin',
    {
      summary:
        'Import an Alertmanager configuration (its YAML as the body, application/yaml): channels, routing tree, inhibit rules, time intervals as one version; ?dryRun=true only reports',
      query: S.dryRunQuery,
    },
    async (req, res) => {
      const body: unknown = req.body;
      // YAML is a superset of JSON: a configuration sent as JSON reads the same.
      const text =
        typeof body === 'string'
          ? body
          : body && typeof body === 'object' && Object.keys(body).length > 0
            ? JSON.stringify(body)
            : '';
      if (text.trim() === '')
        throw new NerveError(
          'INVALID_ARGUMENT',
          'send the Alertmanager configuration as the body (content-type application/yaml)',
        );
      res.json(
        await admin.alerts.alertmanager.import(text, flag('dryRun', req.query.dryRun), contextOf(req, res)),
      );
    },
  );
  r.get(
    '/alerting/config',
    'admin',
    {
      summary: 'The alerting configuration as Alertmanager YAML (?format=alertmanager)',
      query: S.alertingConfigQuery,
    },
    (req, res) => {
      const format = one(req.query as Record<string, unknown>, 'format') ?? 'alertmanager';
      if (format !== 'alertmanager')
        throw new NerveError('INVALID_ARGUMENT', `format must be alertmanager, got ${echo(format, 40)}`);
      const { yaml, notes } = admin.alerts.alertmanager.export();
      res
        .type('application/yaml')
        .set('x-nerve-notes', String(notes.length))
        .set('content-disposition', 'attachment; filename="alertmanager.yml"')
        .send(yaml);
    },
  );
  for (const [kind, { entry }] of entryKinds())
    entryRoutes(
      r,
      entry.path,
      () => admin.alerts.entriesOf(kind),
      entry.listKey,
      entry.patchable,
      entry.writer,
      entry.what,
      entry.schema,
    );
}
