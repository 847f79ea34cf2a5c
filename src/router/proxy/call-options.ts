import type { RoutableEndpoint } from '../balancer/picker';
import type { CircuitBreaker } from '../resilience/circuit-breaker';
import type { GradientController } from '../resilience/adaptive-concurrency';
import type { Retry } from '../resilience/retry-policy';
import type { RetryBudget } from '../resilience/retry-budget';
import type { UpstreamPool } from './upstream-pool';

/** What a call may do when an attempt fails before the response is committed. */
export interface RetryContext {
  readonly retry: Retry | undefined;
  readonly budget: RetryBudget;
  /** Calls in flight for the engine (the budget is a share of them). */
  inFlight(): number;
  /** Another routable endpoint than those tried, or undefined. */
  repick(tried: ReadonlySet<string>): RoutableEndpoint | undefined;
}

export interface ForwardOptions {
  readonly defaultTimeoutMs: number;
  readonly pool: UpstreamPool;
  /** Time the call already spent queued in this router: it comes off the deadline. */
  readonly waitedMs: number;
  readonly retry?: RetryContext;
  /** Outlier detection: stop picking this instance for a while (connection failure, errors in a row). */
  readonly eject?: (endpoint: RoutableEndpoint, reason: string) => void;
  /** Instance failures in a row that eject it (0: never). */
  readonly consecutiveErrors?: number;
  /** The engine-wide breaker: gets the call's final outcome. */
  readonly engineBreaker?: CircuitBreaker;
  /** The engine's adaptive concurrency limit: a served call's latency is its sample. */
  readonly concurrency?: GradientController;
  /** The call was held through a cold start: it says so (x-nerve-cold-start) to the instance and the caller. */
  readonly coldStart?: boolean;
  /** Called once when the call is over, however it ended. */
  readonly done?: () => void;
}
