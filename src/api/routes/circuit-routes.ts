import type { Routes } from '../http/route-table';
import type { AdminService } from '../../control-plane/admin/admin-service';
import { contextOf } from '../http/errors';
import { circuitsView as engineJson } from '../../control-plane/circuits/circuit-view';

/**
 * Circuit states as the control plane aggregates them from every router (`openOn` of `reporters` routers
 * have it open), and manual resets. `:id` is an engine (its breaker and every instance's) or an instance id.
 */
export function circuitRoutes(r: Routes, admin: AdminService): void {
  r.get('/circuit-breakers', 'viewer', 'Circuit states by engine', async (req, res) => {
    const engine = typeof req.query.engine === 'string' ? req.query.engine : undefined;
    res.json({ engines: (await admin.views.circuits(engine)).map(engineJson) });
  });
  r.get('/circuit-breakers/:engine', 'viewer', 'Circuit states of one engine', async (req, res) => {
    const [engine] = await admin.views.circuits(req.params.engine);
    res.json(engineJson(engine));
  });
  r.post(
    '/circuit-breakers/:id/reset',
    'operator',
    'Reset the circuits of an engine or an instance',
    async (req, res) => {
      const { engine, instanceId } = await admin.circuits.resolve(req.params.id);
      res.json(engineJson(await admin.circuits.reset(engine, instanceId, contextOf(req, res))));
    },
  );
  r.post(
    '/circuit-breakers/:engine/instances/:id/reset',
    'operator',
    'Reset one instance’s circuit',
    async (req, res) => {
      res.json(engineJson(await admin.circuits.reset(req.params.engine, req.params.id, contextOf(req, res))));
    },
  );
}
