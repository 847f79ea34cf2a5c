import { Gauge, type Registry } from 'prom-client';
import type { FleetRetrySummary } from './fleet-retry-tally';

/**
 * The fleet's retries per engine on /metrics, as this replica sums every router's reports over the last
 * 10 s (every replica hears every router: read them with `max`). A retry ratio near the budget
 * (`retry.budgetPercent`) with refusals says the engine fails and the budget holds the storm back.
 */
export function registerRetryBudgetMetrics(
  registry: Registry,
  engines: () => readonly string[],
  summary: (engine: string) => FleetRetrySummary,
): void {
  const registers = [registry];
  const gauge = (name: string, help: string, value: (s: FleetRetrySummary) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['engine'],
      registers,
      collect() {
        this.reset();
        for (const engine of engines()) {
          const s = summary(engine);
          if (s.routers > 0) this.set({ engine }, value(s));
        }
      },
    });
  gauge(
    'nerve_fleet_calls_per_second',
    'Calls per second to the engine over every router (10 s)',
    (s) => s.callsPerSecond,
  );
  gauge(
    'nerve_fleet_retries_per_second',
    'Retries (and hedges) per second over every router (10 s)',
    (s) => s.retriesPerSecond,
  );
  gauge(
    'nerve_fleet_retries_refused_per_second',
    'Retries refused by the retry budget per second over every router (10 s)',
    (s) => s.refusedPerSecond,
  );
  gauge(
    'nerve_fleet_retry_ratio',
    'Retries per call over every router (10 s): the one budget they share',
    (s) => s.retryRatio,
  );
  gauge(
    'nerve_fleet_routers',
    'Routers that reported calls to the engine in the last 10 s',
    (s) => s.routers,
  );
}
