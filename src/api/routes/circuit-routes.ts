import { Router } from 'express';
import type { AdminService } from '../../control-plane/admin/admin-service';
import { contextOf } from '../errors';
import type { CircuitStatus, EngineCircuitStatus } from '../../control-plane/circuits/circuit-board';
import { CircuitState } from '../../../gen/nerve/discovery/v1/resources';

const STATE_NAMES: Record<number, string> = {
  [CircuitState.CIRCUIT_STATE_UNSPECIFIED]: 'closed',
  [CircuitState.CIRCUIT_STATE_CLOSED]: 'closed',
  [CircuitState.CIRCUIT_STATE_OPEN]: 'open',
  [CircuitState.CIRCUIT_STATE_HALF_OPEN]: 'half_open',
};

function iso(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

function circuitJson(c: CircuitStatus) {
  return {
    state: STATE_NAMES[c.state],
    since: iso(c.sinceMs),
    lastReset: iso(c.resetAtMs),
    openOn: c.openOn,
    reporters: c.reporters,
    routers: Object.fromEntries(Object.entries(c.routers).map(([node, s]) => [node, STATE_NAMES[s]])),
  };
}

function engineJson(e: EngineCircuitStatus) {
  return {
    engine: e.engine,
    circuit: circuitJson(e.engineCircuit),
    instances: e.instances.map((i) => ({ id: i.instanceId, ...circuitJson(i) })),
  };
}

/**
 * Circuit states as the control plane aggregates them from every router (`openOn` of `reporters` routers
 * have it open), and manual resets. `:id` is an engine (its breaker and every instance's) or an instance id.
 */
export function circuitRoutes(admin: AdminService): Router {
  const router = Router();
  router.get('/circuit-breakers', async (req, res) => {
    const engine = typeof req.query.engine === 'string' ? req.query.engine : undefined;
    res.json({ engines: (await admin.circuits.list(engine)).map(engineJson) });
  });
  router.get('/circuit-breakers/:engine', async (req, res) => {
    const [engine] = await admin.circuits.list(req.params.engine);
    res.json(engineJson(engine));
  });
  router.post('/circuit-breakers/:id/reset', async (req, res) => {
    const { engine, instanceId } = await admin.circuits.resolve(req.params.id);
    res.json(engineJson(await admin.circuits.reset(engine, instanceId, contextOf(req, res))));
  });
  router.post('/circuit-breakers/:engine/instances/:id/reset', async (req, res) => {
    res.json(engineJson(await admin.circuits.reset(req.params.engine, req.params.id, contextOf(req, res))));
  });
  return router;
}
