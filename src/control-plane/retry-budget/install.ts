import type { PlaneContext } from '../context/plane-context';
import { registerRetryBudgetMetrics } from './retry-budget-metrics';
import { RetryBudgetModule } from './retry-budget-module';

/**
 * The fleet retry budget: routers' calls and retries summed per engine, shared by the leader (feature
 * `fleetRetryBudget`).
 */
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
  // Off: nothing is summed or shared, and each router keeps its own budget alone.
  const on = ctx.options.features?.fleetRetryBudget !== false;
  return { retryBudget, modules: on ? [retryBudget] : [] };
}
