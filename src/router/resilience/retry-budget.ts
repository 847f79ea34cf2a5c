/**
 * A retry budget per engine (Envoy's retry_budget, Linkerd's): retries in progress may not exceed 20 % of
 * the calls in flight, with a floor of 10, so a failing engine never turns into a retry storm. The floor
 * is Linkerd's scale rather than Envoy's 3: an instance that crashes fails every call it held and every
 * call queued on its connection at once, and a floor of 3 turned those into caller-visible errors under
 * 8 concurrent calls (test/e2e/chaos.test.ts).
 */
export class RetryBudget {
  retriesInProgress = 0;
  /** Retries refused for lack of budget (metrics, tests). */
  exhausted = 0;

  constructor(
    private readonly share = 0.2,
    private readonly floor = 10,
  ) {}

  tryAcquire(callsInFlight: number): boolean {
    if (this.retriesInProgress >= Math.max(this.floor, this.share * callsInFlight)) {
      this.exhausted++;
      return false;
    }
    this.retriesInProgress++;
    return true;
  }

  release(): void {
    this.retriesInProgress--;
  }
}
