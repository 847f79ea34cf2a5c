/**
 * Hands a new snapshot to every stream in slices of the event loop: at most `sliceMs` of pushing at a
 * time, then the loop serves whatever waits (admin calls, health checks, requests from data planes)
 * before the next slice. A push to 50,000 streams then never holds the process for its whole length.
 *
 * Contracts: each item is pushed once per pass, in the order given; a pass started while another is
 * under way replaces it, beginning with the items the old one had not reached (then the rest, which
 * get the newer snapshot again); `push` reads the newest snapshot itself, so a stream never gets an
 * older one, and however often snapshots come, every stream is reached.
 */
export class PushFanout<T> {
  private queue: T[] = [];
  private at = 0;
  private scheduled = false;

  constructor(
    private readonly push: (item: T) => void,
    private readonly sliceMs = 4,
    private readonly now: () => number = () => performance.now(),
    private readonly later: (run: () => void) => void = (run) => setImmediate(run),
  ) {}

  /**
   * Starts a pass over `items` (a copy is taken: streams that come later read the snapshot themselves).
   * Those the pass under way had not reached go first: with changes coming faster than a pass takes, a
   * pass that started over from the top would never reach the end of the list.
   */
  pushAll(items: Iterable<T>): void {
    let fresh = [...items];
    if (this.at < this.queue.length) {
      // The old pass's order goes on (the oldest waiting first), then everyone else.
      const present = new Set(fresh);
      const first = this.queue.slice(this.at).filter((x) => present.has(x));
      const taken = new Set(first);
      fresh = [...first, ...fresh.filter((x) => !taken.has(x))];
    }
    this.queue = fresh;
    this.at = 0;
    this.schedule();
  }

  /** Streams the current pass has not reached yet. */
  get pending(): number {
    return this.queue.length - this.at;
  }

  private schedule(): void {
    if (this.scheduled || this.at >= this.queue.length) return;
    this.scheduled = true;
    this.later(() => this.run());
  }

  private run(): void {
    this.scheduled = false;
    const until = this.now() + this.sliceMs;
    const queue = this.queue;
    while (this.at < queue.length) {
      const item = queue[this.at++];
      this.push(item);
      // A pass may have been replaced by the push itself (a stream's push published nothing, but be safe).
      if (this.queue !== queue) return this.schedule();
      if ((this.at & 15) === 0 && this.now() >= until) break;
    }
    if (this.at < queue.length) this.schedule();
    else {
      this.queue = [];
      this.at = 0;
    }
  }
}
