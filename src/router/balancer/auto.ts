import { p2cStrategy } from './p2c';

/** How strongly recent failures repel traffic: an instance failing every call costs 21 times as much. */
const FAILURE_PENALTY = 20;

/**
 * The best available instance by everything the router sees: peak-EWMA latency × (in flight + 1),
 * multiplied up by the share of recent calls the instance failed, per unit of weight.
 */
export const auto = p2cStrategy(
  'auto',
  (e) =>
    (e.stats.latencyEwmaMs * (e.stats.inFlight + 1) * (1 + FAILURE_PENALTY * e.stats.failureEwma)) / e.weight,
);
