import type { PlaneContext } from '../context/plane-context';
import { addAdminGrpc } from './admin-grpc';
import type { AdminDeps } from './admin-deps';
import { AdminService } from './admin-service';

/** The admin commands, on admin gRPC here (REST serves the same service from src/api). */
export function installAdmin(
  ctx: PlaneContext,
  ports: Omit<AdminDeps, 'store' | 'engines' | 'logger' | 'staticKeyNames' | 'features'>,
): AdminService {
  const admin = new AdminService({
    ...ports,
    store: ctx.store,
    engines: ctx.engines,
    logger: ctx.logger,
    staticKeyNames: ctx.gate.staticKeyNames,
    features: ctx.options.features,
  });
  addAdminGrpc(ctx.grpc, admin, ctx.gate);
  return admin;
}
