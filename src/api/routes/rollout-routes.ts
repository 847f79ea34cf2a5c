import * as S from '../http/schemas';
import { parseInput } from '../../control-plane/commands/parse-input';
import type { Routes } from '../http/route-table';
import type { AdminService } from '../../control-plane/admin/admin-service';
import type { RolloutOp } from '../../control-plane/rollouts/rollout-module';
import { contextOf } from '../http/errors';

const OPS: readonly RolloutOp[] = ['pause', 'resume', 'abort', 'promote'];

/**
 * Rollouts and closed-loop weights: create, list, read, pause / resume / abort / promote
 * (202: the leader applies them); an engine's weights explained, and pins.
 */
export function rolloutRoutes(r: Routes, admin: AdminService): void {
  r.get('/engines/:name/rollouts', 'viewer', 'Rollouts of an engine', (req, res) => {
    res.json({ rollouts: admin.rollouts.list(req.params.name) });
  });
  r.post(
    '/engines/:name/rollouts',
    'operator',
    { summary: 'Start a rollout', body: S.rolloutBody, status: 201 },
    async (req, res) => {
      const rollout = await admin.rollouts.create(req.params.name, req.body, contextOf(req, res));
      res.status(201).location(`rollouts/${rollout.id}`).json({ rollout });
    },
  );
  r.get('/engines/:name/rollouts/:id', 'viewer', 'One rollout', (req, res) => {
    res.json({ rollout: admin.rollouts.get(req.params.name, req.params.id) });
  });
  for (const op of OPS)
    r.post(
      `/engines/:name/rollouts/:id/${op}`,
      'operator',
      { summary: `${op[0].toUpperCase()}${op.slice(1)} a rollout (applied by the leader)`, status: 202 },
      async (req, res) => {
        const rollout = await admin.rollouts.act(req.params.name, req.params.id, op, contextOf(req, res));
        res.status(202).json({ rollout, requested: op });
      },
    );
  r.get('/engines/:name/weights', 'viewer', 'Effective version weights', (req, res) => {
    res.json(admin.weights.view(req.params.name));
  });
  r.put(
    '/engines/:name/weights/:id',
    'operator',
    { summary: 'Pin an instance’s weight', body: S.pinBody },
    async (req, res) => {
      const { weight } = parseInput(S.pinBody, req.body, 'weight pin');
      res.json(await admin.weights.pin(req.params.name, req.params.id, weight, contextOf(req, res)));
    },
  );
  r.delete('/engines/:name/weights/:id', 'operator', 'Remove a weight pin', async (req, res) => {
    res.json(await admin.weights.pin(req.params.name, req.params.id, undefined, contextOf(req, res)));
  });
}
