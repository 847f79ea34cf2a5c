import type { PlaneContext } from '../context/plane-context';
import { registerRetryBudgetMetrics } from './retry-budget-metrics';
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
  registerRetryBudgetMetrics(
    ctx.metrics.registry,
    () => retryBudget.tally.engines(),
    (engine) => retryBudget.summary(engine),
  );
  return { retryBudget, modules: [retryBudget] };
}
