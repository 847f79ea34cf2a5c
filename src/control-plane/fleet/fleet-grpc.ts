import type { Unary } from '../commands/unary';
import type { AdminServer } from '../../../gen/nerve/admin/v1/admin';
import type { FleetAdmin } from './fleet-admin';

type FleetHandlers = Pick<
  AdminServer,
  | 'scaleEngine'
  | 'startInstance'
  | 'stopInstance'
  | 'restartInstance'
  | 'getInstanceLogs'
  | 'listFleetEvents'
  | 'register'
  | 'heartbeat'
  | 'deregister'
>;

/** Engine lifecycle and registration on admin gRPC: the same FleetAdmin as REST. */
export function fleetHandlers(admin: FleetAdmin, unary: Unary): FleetHandlers {
  const fleet = () => admin;
  return {
    scaleEngine: unary(async (r, ctx) => {
      const { engine, replicas, previous } = await fleet().scale(
        r.engine,
        { replicas: r.replicas },
        ctx,
        r.force,
      );
      return { engine, replicas, previous };
    }),
    startInstance: unary(async (r, ctx) => fleet().operate(r.engine, r.instanceId, 'start', ctx)),
    stopInstance: unary(async (r, ctx) => fleet().operate(r.engine, r.instanceId, 'stop', ctx)),
    restartInstance: unary(async (r, ctx) => fleet().operate(r.engine, r.instanceId, 'restart', ctx)),
    getInstanceLogs: unary(async (r) =>
      fleet().logs(r.engine, r.instanceId, r.stream || 'stdout', r.tail || 100),
    ),
    listFleetEvents: unary(async (r) => {
      const { events, decisions } = fleet().history(r.engine);
      return {
        eventsJson: events.map((e) => JSON.stringify(e)),
        autoscaleDecisionsJson: decisions.map((d) => JSON.stringify(d)),
      };
    }),
    register: unary(async (r, ctx) =>
      fleet().register(
        {
          engine: r.engine,
          id: r.id,
          address: r.address,
          version: r.version || undefined,
          weight: r.weight || undefined,
          priority: r.priority,
          ttlMs: r.ttlMs,
          createEngine: r.createEngine,
        },
        ctx,
      ),
    ),
    heartbeat: unary(async (r) => fleet().heartbeat(r.leaseId)),
    deregister: unary(async (r, ctx) => {
      await fleet().deregister(r.leaseId, ctx);
      return {};
    }),
  };
}
