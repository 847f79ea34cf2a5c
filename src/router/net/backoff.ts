/**
 * Exponential backoff with full jitter (gRPC connection backoff: initial 1 s, ×1.6, max 120 s; ours is
 * tighter because a router without config cannot serve): delay n is random(0, min(initial·mult^n, max)),
 * never below `floorMs`. `reset` after a connection proves healthy.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs = 100,
    private readonly maxMs = 5_000,
    private readonly multiplier = 1.6,
    private readonly floorMs = 20,
    private readonly random: () => number = Math.random,
    /** Equal jitter: random(cap/2, cap), so the steady state is never more often than maxMs / 2. */
    private readonly equalJitter = false,
  ) {}

  next(): number {
    const cap = Math.min(this.initialMs * this.multiplier ** this.attempt, this.maxMs);
    this.attempt++;
    const delay = this.equalJitter ? cap / 2 + (this.random() * cap) / 2 : this.random() * cap;
    return Math.max(this.floorMs, Math.round(delay));
  }

  reset(): void {
    this.attempt = 0;
  }
}
