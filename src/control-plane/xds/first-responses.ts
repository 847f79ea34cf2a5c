/**
 * A bound on first (full) responses in flight: a stream that opens takes a place before its first
 * response is sent and gives it back once the client has answered (ACK or NACK), has gone, or after
 * `holdMs`; streams wait for a place in the order they came. Ten thousand clients connecting at once
 * then get their configurations `limit` at a time instead of ten thousand full responses queued in
 * memory at once (istio#35263), and none waits behind a slow one for more than `holdMs`.
 */
export class FirstResponses {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private head = 0;

  constructor(
    readonly limit: number,
    private readonly holdMs: number,
    private readonly timers: {
      set(fn: () => void, ms: number): unknown;
      clear(handle: unknown): void;
    } = {
      set: (fn, ms) => setTimeout(fn, ms).unref(),
      clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
    },
  ) {}

  /** Streams waiting for a place. */
  get queued(): number {
    return this.waiting.length - this.head;
  }

  get active(): number {
    return this.inFlight;
  }

  /**
   * Calls `go` once the stream has a place (now, or in turn). Returns the release: call it when the
   * client answered or went; it is idempotent, and before `go` ran it takes the stream out of line.
   */
  enter(go: () => void): () => void {
    let state: 'waiting' | 'in' | 'out' = 'waiting';
    let timer: unknown;
    const release = () => {
      if (state === 'in') {
        this.timers.clear(timer);
        this.inFlight--;
        this.next();
      }
      state = 'out';
    };
    const admit = () => {
      if (state !== 'waiting') return false;
      state = 'in';
      this.inFlight++;
      timer = this.timers.set(release, this.holdMs);
      go();
      return true;
    };
    if (this.inFlight < this.limit && this.queued === 0) admit();
    else this.waiting.push(() => void admit());
    return release;
  }

  private next(): void {
    while (this.inFlight < this.limit && this.head < this.waiting.length) {
      const admit = this.waiting[this.head++];
      admit(); // a stream that left the line meanwhile admits nothing, and the next one is tried
    }
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting.splice(0, this.head);
      this.head = 0;
    }
  }
}
