import type { PlaneContext } from '../context/plane-context';
import { HistoryModule } from './history-module';

/** Metric history: the fleet's call figures sampled into the store's history on the leader. */
export function installHistory(ctx: PlaneContext) {
  return {
    modules: [
      new HistoryModule(
        ctx.store.history,
        () => ctx.engines.listNow(),
        ctx.windows,
        ctx.leader,
        ctx.bus,
        ctx.logger,
      ),
    ],
  };
}
