import { Router } from 'express';
import { AdminError } from '../../control-plane/admin/admin-error';
import type { AdminService } from '../../control-plane/admin/admin-service';
import type { RolloutOp } from '../../control-plane/rollouts/rollout-module';
import { contextOf } from '../errors';

const OPS: readonly RolloutOp[] = ['pause', 'resume', 'abort', 'promote'];

/**
 * Rollouts (DESIGN §2b) and closed-loop weights: create, list, read, pause / resume / abort / promote
 * (202: the leader applies them); an engine's weights explained, and pins.
 */
export function rolloutRoutes(admin: AdminService): Router {
  const router = Router();
  router.get('/engines/:name/rollouts', (req, res) => {
    res.json({ rollouts: admin.rolloutsAdmin().list(req.params.name) });
  });
  router.post('/engines/:name/rollouts', async (req, res) => {
    const rollout = await admin.rolloutsAdmin().create(req.params.name, req.body, contextOf(req, res));
    res.status(201).location(`rollouts/${rollout.id}`).json({ rollout });
  });
  router.get('/engines/:name/rollouts/:id', (req, res) => {
    res.json({ rollout: admin.rolloutsAdmin().get(req.params.name, req.params.id) });
  });
  for (const op of OPS)
    router.post(`/engines/:name/rollouts/:id/${op}`, async (req, res) => {
      const rollout = await admin
        .rolloutsAdmin()
        .act(req.params.name, req.params.id, op, contextOf(req, res));
      res.status(202).json({ rollout, requested: op });
    });
  router.get('/engines/:name/weights', (req, res) => {
    res.json(admin.weightsAdmin().view(req.params.name));
  });
  router.put('/engines/:name/weights/:id', async (req, res) => {
    const weight = (req.body as { weight?: unknown } | undefined)?.weight;
    if (typeof weight !== 'number')
      throw new AdminError(
        'INVALID_ARGUMENT',
        'the body must be {"weight": N}, N an integer from 0 to 1000000',
      );
    res.json(await admin.weightsAdmin().pin(req.params.name, req.params.id, weight, contextOf(req, res)));
  });
  router.delete('/engines/:name/weights/:id', async (req, res) => {
    res.json(await admin.weightsAdmin().pin(req.params.name, req.params.id, undefined, contextOf(req, res)));
  });
  return router;
}
