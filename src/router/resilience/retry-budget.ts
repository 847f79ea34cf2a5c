import type { FleetRetryBudget } from '../../../gen/nerve/discovery/v1/resources';
import { type Clock, REAL_CLOCK } from './clock';

/** Retry budget defaults (Finagle's and Linkerd's): 20 % of calls, 10 retries a second, tokens fade over 10 s. */
export const DEFAULT_BUDGET_PERCENT = 20;
export const DEFAULT_MIN_RETRIES_PER_SECOND = 10;
const TTL_MS = 10_000;
/** Retries in progress at once per router: at least this many, else 20 % of the calls in flight. */
const CONCURRENCY_FLOOR = 10;
const CONCURRENCY_SHARE = 0.2;

export interface BudgetPolicy {
  /** Retries at most this percent of the fleet's calls (0: the default). */
  readonly budgetPercent: number;
  /** …plus this many a second for the whole fleet (0: the default). */
  readonly minRetriesPerSecond: number;
}

/**
 * The retry budget of one engine in one router, as its share of the fleet's budget.
 *
 * Two limits, both must allow a retry:
 * - Tokens (Finagle's RetryBudget): every completed call deposits budgetPercent / 100 of a token, the
 *   reserve adds minRetriesPerSecond a second, every retry (and hedge) spends one, and unspent tokens
 *   fade over 10 s. Deposits are the router's own calls, so summed over routers they are the fleet's;
 *   the reserve is the fleet's, and this router gets its share of the fleet's calls of it (from the
 *   control plane's FleetRetryBudget; 1 / routers before it has calls; all of it before any word). So 200
 *   routers retry within one budget, not 200.
 * - Concurrency (Envoy's retry_budget): retries in progress at most 20 % of calls in flight, at least 10,
 *   so a burst (an instance crashing with every call it held) is retried at once. The floor is Linkerd's
 *   scale rather than Envoy's 3: a floor of 3 turned those into caller-visible errors under 8
 *   concurrent calls (test/e2e/chaos.test.ts).
 *
 * Per call, `called` is one increment; tokens are reckoned only when a retry asks.
 */
export class RetryBudget {
  retriesInProgress = 0;
  /** Retries refused for lack of budget (metrics, tests, reports). */
  exhausted = 0;
  /** Lifetime counts: calls completed (counted by the call's end) and retries made. */
  calls = 0;
  retries = 0;
  private tokens: number;
  private reckonedAt: number;
  private reckonedCalls = 0;
  private ratio = DEFAULT_BUDGET_PERCENT / 100;
  private reservePerSecond = DEFAULT_MIN_RETRIES_PER_SECOND;
  private fleet: FleetRetryBudget | undefined;
  /** This router's calls per second to the engine, measured between fleet updates. */
  private ownRate = 0;
  private rateSince: number;
  private rateCalls = 0;

  constructor(private readonly clock: Clock = REAL_CLOCK) {
    this.reckonedAt = this.rateSince = clock.now();
    this.tokens = this.reservePerSecond * (TTL_MS / 1000);
  }

  /** The engine's policy (pushed with its cluster). */
  configure(policy: BudgetPolicy | undefined): void {
    this.reckon();
    this.ratio = (policy?.budgetPercent || DEFAULT_BUDGET_PERCENT) / 100;
    this.reservePerSecond = policy?.minRetriesPerSecond || DEFAULT_MIN_RETRIES_PER_SECOND;
  }

  /** What the control plane summed over the fleet (pushed with the engine's circuits). */
  applyFleet(fleet: FleetRetryBudget | undefined): void {
    this.reckon();
    this.fleet = fleet;
  }

  /**
   * A retry (or hedge) of a call wants to go: true when both limits allow it. `holdsSlot`: the call already
   * holds a concurrency slot from an earlier retry (one slot per call, however many attempts).
   */
  tryRetry(callsInFlight: number, holdsSlot: boolean): boolean {
    if (
      !holdsSlot &&
      this.retriesInProgress >= Math.max(CONCURRENCY_FLOOR, CONCURRENCY_SHARE * callsInFlight)
    ) {
      this.exhausted++;
      return false;
    }
    this.reckon();
    if (this.tokens < 1) {
      this.exhausted++;
      return false;
    }
    this.tokens--;
    this.retries++;
    if (!holdsSlot) this.retriesInProgress++;
    return true;
  }

  release(): void {
    this.retriesInProgress--;
  }

  /** Why a retry was refused, for the caller's message. */
  describe(): string {
    const share = this.share();
    const fleet = share < 1 ? ` (this router's share of the fleet's: ${Math.round(share * 100)} %)` : '';
    return `retry budget exhausted (${this.retriesInProgress} retries in progress, ${Math.floor(this.available())} tokens${fleet})`;
  }

  /** This router's share of the fleet's reserve (0..1). */
  share(): number {
    const f = this.fleet;
    if (!f || f.routers <= 1) return 1;
    if (f.fleetCallsPerSecond <= 0 || this.ownRate <= 0) return 1 / f.routers;
    return Math.min(1, this.ownRate / f.fleetCallsPerSecond);
  }

  private reported = { calls: 0, retries: 0, exhausted: 0 };

  /** Calls, retries and refusals since the last take (the router's report); also refreshes the own rate. */
  takeInterval(): { calls: number; retries: number; refused: number } {
    this.reckon();
    const r = this.reported;
    const out = {
      calls: this.calls - r.calls,
      retries: this.retries - r.retries,
      refused: this.exhausted - r.exhausted,
    };
    this.reported = { calls: this.calls, retries: this.retries, exhausted: this.exhausted };
    return out;
  }

  /** Tokens now (tests, the admin page). */
  available(): number {
    this.reckon();
    return this.tokens;
  }

  private reckon(): void {
    const now = this.clock.now();
    const dt = now - this.reckonedAt;
    if (now - this.rateSince >= 1_000) {
      this.ownRate = ((this.calls - this.rateCalls) * 1000) / (now - this.rateSince);
      this.rateSince = now;
      this.rateCalls = this.calls;
    }
    const reserve = this.reservePerSecond * this.share();
    const fade = dt > 0 ? Math.exp(-dt / TTL_MS) : 1;
    // Deposits and reserve accrue over the interval; all of it fades together (a fair approximation of
    // each deposit expiring after the TTL, without a queue of deposits).
    const earned = this.ratio * (this.calls - this.reckonedCalls) + (reserve * Math.max(0, dt)) / 1000;
    this.tokens = Math.min(this.tokens * fade + earned, this.cap(reserve));
    this.reckonedAt = now;
    this.reckonedCalls = this.calls;
  }

  /** Unspent tokens are at most what 10 s of reserve and 10 s of calls would have deposited. */
  private cap(reserve: number): number {
    return Math.max(1, reserve * (TTL_MS / 1000) + this.ratio * this.ownRate * (TTL_MS / 1000));
  }
}
