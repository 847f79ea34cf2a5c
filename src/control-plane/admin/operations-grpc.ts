import type { Unary } from '../commands/unary';
import type { AdminServer } from '../../../gen/nerve/admin/v1/admin';
import type { AdminService } from './admin-service';
import { OperationsAdmin } from './operations-admin';

type OperationsHandlers = Pick<
  AdminServer,
  'getLogLevels' | 'setLogLevel' | 'captureCpuProfile' | 'captureHeapSnapshot' | 'getFeatures'
>;

/** Log levels, profiles and feature flags on admin gRPC: the same OperationsAdmin as REST. */
export function operationsHandlers(admin: AdminService, unary: Unary): OperationsHandlers {
  const ops = admin.operations;
  return {
    getLogLevels: unary(async () => ({ levels: ops.logLevels() })),
    setLogLevel: unary(async (r, ctx) => ({
      levels: ops.setLogLevel({ level: r.level, component: r.component || undefined }, ctx),
    })),
    captureCpuProfile: unary(async (r, ctx) => ({
      profile: Buffer.from(await ops.cpuProfile(OperationsAdmin.profileMs(r.durationMs), ctx)),
    })),
    captureHeapSnapshot: unary(async (r, ctx) => {
      const chunks: string[] = [];
      await ops.heapSnapshot(r.confirm, (chunk) => chunks.push(chunk), ctx);
      return { snapshot: Buffer.from(chunks.join('')) };
    }),
    getFeatures: unary(async () => ({ features: { ...ops.featureFlags() } })),
  };
}
