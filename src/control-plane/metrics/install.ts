import { checkStateOf } from '../health/health-module';
import type { PlaneContext } from '../context/plane-context';
import { FleetMetrics } from './fleet-metrics';
import { MetricsModule } from './metrics-module';
import { registerProcessMetrics } from './process-metrics';

/** The fleet's Prometheus series: calls per instance from every report, probes, managed processes. */
export function installMetrics(ctx: PlaneContext) {
  const fleet = new FleetMetrics(ctx.metrics.registry, ctx.replica.id, ctx.engines, ctx.windows, (e, i) =>
    checkStateOf(ctx.store, e, i),
  );
  registerProcessMetrics(ctx.metrics.registry, ctx.store);
  return { fleet, modules: [new MetricsModule(ctx.bus, ctx.windows, fleet)] };
}
