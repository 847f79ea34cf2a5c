import { p2cStrategy } from './p2c';

/** Least connections (Envoy's LEAST_REQUEST): fewest calls in flight for the endpoint's weight. */
export const leastRequest = p2cStrategy('least_request', (e) => e.stats.inFlight / e.weight);
