import * as S from '../http/schemas';
import type { Routes } from '../http/route-table';
import { NerveError } from '../../model/errors';
import type { AdminService } from '../../control-plane/admin/admin-service';
import { echo } from '../../model/echo';
import { contextOf } from '../http/errors';
import { etag, ifMatch } from '../http/if-match';

/** ?limit: a number, checked for its range by AdminService (as gRPC's page_size is); absent: 0, the default. */
function pageSize(raw: unknown): number {
  if (raw === undefined) return 0;
  const n = typeof raw === 'string' && /^\d{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < 1)
    throw new NerveError(
      'INVALID_ARGUMENT',
      `limit must be an integer from 1 to 1000, got ${echo(String(raw), 20)}`,
    );
  return n;
}

/** Engines: list (cursor pagination), one, spec writes (versioned, If-Match), instance operations. */
export function engineRoutes(r: Routes, admin: AdminService): void {
  r.get(
    '/engines',
    'viewer',
    { summary: 'Engines, a page at a time (?limit=&cursor=)', query: S.listQuery, response: S.engineList },
    async (req, res) => {
      const cursor = typeof req.query.cursor === 'string' ? req.query.cursor : '';
      const page = await admin.views.listEngines(pageSize(req.query.limit), cursor);
      res.json({ engines: page.engines, nextCursor: page.nextPageToken || null });
    },
  );
  r.get('/engines/:name', 'viewer', { summary: 'One engine', response: S.oneEngine }, async (req, res) => {
    const engine = await admin.views.getEngine(req.params.name);
    res.set('etag', etag(engine.revision)).json({ engine });
  });
  r.post(
    '/engines',
    'admin',
    { summary: 'Create an engine', body: S.engineBody, response: S.oneEngine, status: 201 },
    async (req, res) => {
      const spec = await admin.specs.create(req.body, contextOf(req, res));
      res.status(201).set('etag', etag(spec.revision)).location(`engines/${spec.name}`);
      res.json({ engine: admin.views.view(spec) });
    },
  );
  r.put(
    '/engines/:name',
    'admin',
    {
      summary: 'Create or replace an engine spec (If-Match optional)',
      body: S.engineBody,
      response: S.oneEngine,
    },
    async (req, res) => {
      const existed = await admin.views.getEngine(req.params.name).then(
        () => true,
        () => false,
      );
      const spec = await admin.specs.replace(req.params.name, req.body, ifMatch(req), contextOf(req, res));
      res.status(existed ? 200 : 201).set('etag', etag(spec.revision));
      res.json({ engine: admin.views.view(spec) });
    },
  );
  r.patch(
    '/engines/:name',
    'admin',
    { summary: 'Merge-patch an engine spec (RFC 7386)', body: S.enginePatch, response: S.oneEngine },
    async (req, res) => {
      const spec = await admin.specs.patch(req.params.name, req.body, ifMatch(req), contextOf(req, res));
      res.set('etag', etag(spec.revision)).json({ engine: admin.views.view(spec) });
    },
  );
  r.delete('/engines/:name', 'admin', 'Delete an engine', async (req, res) => {
    const version = await admin.specs.delete(req.params.name, ifMatch(req), contextOf(req, res));
    res.json({ deleted: req.params.name, version });
  });
  r.post(
    '/batch',
    'admin',
    { summary: 'Apply engine spec changes atomically', body: S.batchBody, response: S.batchResult },
    async (req, res) => {
      res.json(await admin.specs.batch(req.body, ifMatch(req), contextOf(req, res)));
    },
  );
  r.post(
    '/engines/:name/instances/:id/drain',
    'operator',
    { summary: 'Drain an instance', response: S.oneEngine },
    async (req, res) => {
      res.json({ engine: await admin.drainInstance(req.params.name, req.params.id, contextOf(req, res)) });
    },
  );
  r.post(
    '/engines/:name/instances/:id/undrain',
    'operator',
    { summary: 'Put a drained instance back into rotation', response: S.oneEngine },
    async (req, res) => {
      res.json({ engine: await admin.undrainInstance(req.params.name, req.params.id, contextOf(req, res)) });
    },
  );
}
