import * as S from '../http/schemas';
import type { Routes } from '../http/route-table';
import type { AdminService } from '../../control-plane/admin/admin-service';
import type { InstanceOp } from '../../control-plane/fleet/driver';
import { contextOf } from '../http/errors';
import { one } from '../http/query';

const OPS: readonly InstanceOp[] = ['start', 'stop', 'restart'];

/**
 * Engine lifecycle: scale, start / stop / restart of managed instances (202: queued for
 * the leader), their output, the engine's lifecycle events; registration with leases, as admin gRPC's
 * Register / Heartbeat / Deregister.
 */
export function fleetRoutes(r: Routes, admin: AdminService): void {
  r.post(
    '/engines/:name/scale',
    'operator',
    {
      summary: 'Scale a managed engine (?force=true over its autoscaler, held for its cooldown)',
      body: S.scaleBody,
      query: S.forceQuery,
    },
    async (req, res) => {
      const force = req.query.force === 'true';
      res.json(await admin.fleet.scale(req.params.name, req.body, contextOf(req, res), force));
    },
  );
  for (const op of OPS)
    r.post(
      `/engines/:name/instances/:id/${op}`,
      'operator',
      {
        summary: `${op[0].toUpperCase()}${op.slice(1)} a managed instance (queued for the leader)`,
        status: 202,
      },
      async (req, res) => {
        res
          .status(202)
          .json(await admin.fleet.operate(req.params.name, req.params.id, op, contextOf(req, res)));
      },
    );
  r.get(
    '/engines/:name/instances/:id/logs',
    'viewer',
    { summary: 'A managed instance’s output', query: S.logsQuery },
    (req, res) => {
      const tail = one(req.query, 'tail');
      const n = tail === undefined ? 100 : /^\d{1,6}$/.test(tail) ? Number(tail) : NaN;
      res.json(admin.fleet.logs(req.params.name, req.params.id, one(req.query, 'stream') ?? 'stdout', n));
    },
  );
  r.get('/engines/:name/events', 'viewer', 'Lifecycle events of an engine', async (req, res) => {
    const view = await admin.views.getEngine(req.params.name);
    res.json({ events: admin.fleet.events(req.params.name), autoscale: view.runtime?.autoscale ?? [] });
  });
  r.post(
    '/leases',
    'operator',
    { summary: 'Register an instance with a lease', body: S.leaseBody, status: 201 },
    async (req, res) => {
      const grant = await admin.fleet.register(req.body, contextOf(req, res));
      res.status(201).json(grant);
    },
  );
  r.post('/leases/:leaseId/heartbeat', 'operator', 'Renew a lease', async (req, res) => {
    res.json(await admin.fleet.heartbeat(req.params.leaseId));
  });
  r.delete('/leases/:leaseId', 'operator', 'Deregister', async (req, res) => {
    await admin.fleet.deregister(req.params.leaseId, contextOf(req, res));
    res.json({ deregistered: req.params.leaseId });
  });
}
