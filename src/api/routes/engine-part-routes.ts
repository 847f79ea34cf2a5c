import { z } from 'zod';
import type { AdminService } from '../../control-plane/admin/admin-service';
import { NerveError } from '../../model/errors';
import { parseInput } from '../../control-plane/commands/parse-input';
import { versionBodySchema, versionWeightSchema } from '../../control-plane/admin/spec-parts-admin';
import { echo } from '../../model/echo';
import { contextOf } from '../http/errors';
import { etag, ifMatch } from '../http/if-match';
import type { Routes } from '../http/route-table';
import * as S from '../http/schemas';

export const instanceBodySchema = z.strictObject({
  id: z.string().min(1),
  address: z.string().min(1),
  version: z.string().optional(),
  weight: z.number().int().min(0).optional(),
  priority: z.number().int().min(0).optional(),
});
const instanceWeightSchema = z.strictObject({ weight: z.number().int().min(0) });

/**
 * An engine's versions, instances and policy as resources of their own (full CRUD beside the whole-spec
 * writes of engine-routes): each change is one validated, versioned write of the spec, If-Match honoured.
 */
export function enginePartRoutes(r: Routes, admin: AdminService): void {
  const answer = async (res: import('express').Response, name: string, status = 200) => {
    const engine = await admin.views.getEngine(name);
    res.status(status).set('etag', etag(engine.revision)).json({ engine });
  };

  r.get('/engines/:name/versions', 'viewer', 'An engine’s versions and their weights', async (req, res) => {
    res.json({ versions: (await admin.views.getEngine(req.params.name)).versions });
  });
  r.post(
    '/engines/:name/versions',
    'admin',
    { summary: 'Add a version', body: versionBodySchema, response: S.oneEngine, status: 201 },
    async (req, res) => {
      await admin.specParts.addVersion(req.params.name, req.body, ifMatch(req), contextOf(req, res));
      await answer(res, req.params.name, 201);
    },
  );
  r.put(
    '/engines/:name/versions/:version',
    'admin',
    { summary: 'Set a version’s weight', body: versionWeightSchema, response: S.oneEngine },
    async (req, res) => {
      const { name, version } = req.params;
      await admin.specParts.setVersionWeight(name, version, req.body, ifMatch(req), contextOf(req, res));
      await answer(res, name);
    },
  );
  r.delete(
    '/engines/:name/versions/:version',
    'admin',
    { summary: 'Remove a version (no instance may run it)', response: S.oneEngine },
    async (req, res) => {
      const { name, version } = req.params;
      await admin.specParts.removeVersion(name, version, ifMatch(req), contextOf(req, res));
      await answer(res, name);
    },
  );

  r.get('/engines/:name/instances', 'viewer', 'An engine’s instances', async (req, res) => {
    res.json({ instances: (await admin.views.getEngine(req.params.name)).instances });
  });
  r.get('/engines/:name/instances/:id', 'viewer', 'One instance', async (req, res) => {
    const engine = await admin.views.getEngine(req.params.name);
    const instance = engine.instances.find((i) => i.id === req.params.id);
    if (!instance)
      throw new NerveError(
        'NOT_FOUND',
        `engine ${echo(req.params.name)} has no instance ${echo(req.params.id)}`,
      );
    res.json({ instance });
  });
  r.post(
    '/engines/:name/instances',
    'admin',
    { summary: 'Add an instance', body: instanceBodySchema, response: S.oneEngine, status: 201 },
    async (req, res) => {
      const i = parseInput(instanceBodySchema, req.body, 'instance');
      const engine = await admin.addInstance({ ...i, engine: req.params.name }, contextOf(req, res));
      res.status(201).set('etag', etag(engine.revision)).json({ engine });
    },
  );
  r.patch(
    '/engines/:name/instances/:id',
    'operator',
    { summary: 'Set an instance’s weight', body: instanceWeightSchema, response: S.oneEngine },
    async (req, res) => {
      const { weight } = parseInput(instanceWeightSchema, req.body, 'instance weight');
      const ctx = contextOf(req, res);
      res.json({ engine: await admin.setInstanceWeight(req.params.name, req.params.id, weight, ctx) });
    },
  );
  r.delete(
    '/engines/:name/instances/:id',
    'admin',
    { summary: 'Remove an instance', response: S.oneEngine },
    async (req, res) => {
      res.json({ engine: await admin.removeInstance(req.params.name, req.params.id, contextOf(req, res)) });
    },
  );

  r.get('/engines/:name/policy', 'viewer', 'An engine’s policy (defaults filled in)', async (req, res) => {
    res.json({ policy: (await admin.views.getEngine(req.params.name)).policy });
  });
  r.put(
    '/engines/:name/policy',
    'admin',
    { summary: 'Replace an engine’s policy', body: z.record(z.string(), z.unknown()), response: S.oneEngine },
    async (req, res) => {
      await admin.specParts.setPolicy(req.params.name, req.body, ifMatch(req), contextOf(req, res));
      await answer(res, req.params.name);
    },
  );
  r.delete(
    '/engines/:name/policy',
    'admin',
    { summary: 'Return an engine’s policy to the defaults', response: S.oneEngine },
    async (req, res) => {
      await admin.specParts.setPolicy(req.params.name, undefined, ifMatch(req), contextOf(req, res));
      await answer(res, req.params.name);
    },
  );
}
