import { p2cStrategy } from './p2c';

/**
 * Least response time as Linkerd balances: peak-EWMA latency × (calls in flight + 1), per unit of weight.
 * A slow instance is avoided at once (the peak), a recovered one wins traffic back as its EWMA decays.
 */
export const leastResponseTime = p2cStrategy(
  'least_response_time',
  (e) => (e.stats.latencyEwmaMs * (e.stats.inFlight + 1)) / e.weight,
);
