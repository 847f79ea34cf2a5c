import type { Logger } from './logger';

/**
 * A warning logged at most once per period for each key (a node and a reason, say), with how many
 * were held back since the last line: an attacker or a broken peer repeating a fault cannot flood the
 * log, and an operator still sees it continue. Keys are forgotten after a quiet period.
 */
export class RateLimitedWarning {
  private readonly last = new Map<string, { atMs: number; held: number }>();

  constructor(
    private readonly logger: Logger,
    private readonly periodMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  warn(key: string, message: string, fields: Record<string, unknown>): void {
    const at = this.now();
    const seen = this.last.get(key);
    if (seen && at - seen.atMs < this.periodMs) {
      seen.held++;
      return;
    }
    if (this.last.size > 10_000) this.prune(at);
    this.logger.warn(message, seen && seen.held > 0 ? { ...fields, heldBack: seen.held } : fields);
    this.last.set(key, { atMs: at, held: 0 });
  }

  private prune(at: number): void {
    for (const [k, v] of this.last) if (at - v.atMs >= this.periodMs) this.last.delete(k);
  }
}
