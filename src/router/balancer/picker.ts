import type { CircuitBreaker } from '../resilience/circuit-breaker';
import type { InstanceStats } from '../stats/instance-stats';

/** An endpoint a picker may choose, with its effective share of traffic (version share × own weight). */
export interface RoutableEndpoint {
  readonly engine: string;
  readonly id: string;
  readonly address: string;
  readonly version: string;
  readonly weight: number;
  readonly stats: InstanceStats;
  /** The instance's circuit breaker in this router (absent in pure balancing tests). */
  readonly breaker?: CircuitBreaker;
}

/**
 * A picker is an immutable view of one engine's routable endpoints, replaced whole when config or health
 * changes. `pick` is synchronous and allocation-free on the hot path: it returns the endpoint, or
 * undefined when nothing can serve (then `reason` says why).
 */
export interface Picker {
  pick(sessionKey?: string): RoutableEndpoint | undefined;
  readonly reason: string;
}

/** A balancing strategy, registered by name (the policy's `strategy`). */
export interface Strategy {
  readonly name: string;
  build(endpoints: readonly RoutableEndpoint[], reason: string): Picker;
}
