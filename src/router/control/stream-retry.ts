import { Backoff } from '../net/backoff';

/** gRPC codes that say the control plane refused this router's credentials or node: not a fault of the path. */
const REFUSALS = new Set([16 /* UNAUTHENTICATED */, 7 /* PERMISSION_DENIED */]);

export interface RetryDecision {
  readonly delayMs: number;
  /** Whether this failure is worth a warning: the first of its reason (later ones repeat it). */
  readonly news: boolean;
  readonly refused: boolean;
}

/**
 * When a router's control stream (ADS, reports) tries again. A broken path backs off fast (the router
 * wants its configuration back); a refusal of its credentials will not mend by retrying, so it backs off
 * from 1 s to a steady 30–60 s (equal jitter, so never more than one try per 30 s), and is logged once
 * per change of reason, not once per try: a misconfigured router can neither storm its control plane
 * nor its own log. `accepted` (the control plane answered) resets both.
 */
export class StreamRetry {
  private readonly transient: Backoff;
  private readonly refusal: Backoff;
  private lastReason: string | undefined;

  constructor(transient: Backoff, random: () => number = Math.random) {
    this.transient = transient;
    this.refusal = new Backoff(1_000, 60_000, 2, 500, random, true);
  }

  failed(code: number | undefined, reason: string): RetryDecision {
    const refused = code !== undefined && REFUSALS.has(code);
    const news = reason !== this.lastReason;
    this.lastReason = reason;
    return { delayMs: (refused ? this.refusal : this.transient).next(), news, refused };
  }

  accepted(): void {
    this.transient.reset();
    this.refusal.reset();
    this.lastReason = undefined;
  }
}
