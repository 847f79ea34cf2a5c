import type { PlaneContext } from '../context/plane-context';
import { RetryBudgetModule } from './retry-budget-module';

/** The fleet retry budget: routers' calls and retries summed per engine, shared by the leader. */
export function installRetryBudget(ctx: PlaneContext) {
  const retryBudget = new RetryBudgetModule(
    ctx.store,
    ctx.engines,
    ctx.bus,
    ctx.leader,
    ctx.logger,
    ctx.reportIntervalMs,
  );
  return { retryBudget, modules: [retryBudget] };
}
