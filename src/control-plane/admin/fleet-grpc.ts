import type * as grpc from '@grpc/grpc-js';
import type { AdminServer } from '../../../gen/nerve/admin/v1/admin';
import type { AdminContext } from './admin-context';
import type { AdminService } from './admin-service';

type Unary = <Req, Res>(fn: (req: Req, ctx: AdminContext) => Promise<Res>) => grpc.handleUnaryCall<Req, Res>;

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
export function fleetHandlers(admin: AdminService, unary: Unary): FleetHandlers {
  const fleet = () => admin.fleet;
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
      const view = await admin.views.getEngine(r.engine);
      return {
        eventsJson: fleet()
          .events(r.engine)
          .map((e) => JSON.stringify(e)),
        autoscaleDecisionsJson: (view.runtime?.autoscale ?? []).map((d) => JSON.stringify(d)),
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
