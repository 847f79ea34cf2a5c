/**
 * A stream's budget of requests (a token bucket): `perSecond` sustained, `burst` at once. A client past
 * it is not cut off: its requests wait their turn and the stream stops crediting its HTTP/2 window, so
 * a client that floods slows itself down and no one else (xDS clients ACK every response, so a
 * legitimate one only meets the budget when the configuration changes faster than it).
 */
export class RequestBudget {
  private tokens: number;
  private last: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes a request's token: 0 when there was one, else the ms until there will be (nothing taken). */
  take(): number {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.perSecond) / 1000);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens--;
      return 0;
    }
    return Math.max(1, Math.ceil(((1 - this.tokens) * 1000) / this.perSecond));
  }
}
