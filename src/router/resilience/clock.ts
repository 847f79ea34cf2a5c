/** Time as the resilience parts see it, so unit tests can drive them with a fake clock. */
export interface Clock {
  /** Monotonic milliseconds. */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * performance.now and timers that never keep the process alive. The global `performance` (not the
 * perf_hooks import the request path uses) so that unit tests' fake timers drive it.
 */
export const REAL_CLOCK: Clock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
