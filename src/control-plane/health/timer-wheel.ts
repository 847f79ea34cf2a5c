/**
 * Many timers on one Node timer: items are due in ticks of `tickMs`, and every item due in a tick runs
 * in one callback. The leader probes a thousand instances a second: a timer and a wakeup per probe and
 * per timeout cost more than the probes' own work; with a wheel, the probes due in a tick leave together
 * and their answers tend to arrive together. An item is scheduled at most once (rescheduling moves it).
 */
export class TimerWheel<T> {
  private readonly slots = new Map<number, Set<T>>();
  private readonly slotOf = new Map<T, number>();
  private timer: NodeJS.Timeout | undefined;
  private armedSlot = Infinity;

  constructor(
    private readonly tickMs: number,
    private readonly run: (item: T) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Runs `item` in the first tick at or after `atMs`. */
  schedule(item: T, atMs: number): void {
    this.cancel(item);
    const slot = Math.ceil(atMs / this.tickMs);
    let set = this.slots.get(slot);
    if (!set) this.slots.set(slot, (set = new Set()));
    set.add(item);
    this.slotOf.set(item, slot);
    if (slot < this.armedSlot) this.arm(slot);
  }

  cancel(item: T): void {
    const slot = this.slotOf.get(item);
    if (slot === undefined) return;
    this.slotOf.delete(item);
    const set = this.slots.get(slot)!;
    set.delete(item);
    if (set.size === 0) this.slots.delete(slot);
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.armedSlot = Infinity;
    this.slots.clear();
    this.slotOf.clear();
  }

  get size(): number {
    return this.slotOf.size;
  }

  private arm(slot: number): void {
    clearTimeout(this.timer);
    this.armedSlot = slot;
    this.timer = setTimeout(() => this.fire(), Math.max(0, slot * this.tickMs - this.now()));
    this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.armedSlot = Infinity;
    const current = Math.floor(this.now() / this.tickMs);
    const due: T[] = [];
    for (const [slot, set] of this.slots) {
      if (slot > current) continue;
      for (const item of set) {
        due.push(item);
        this.slotOf.delete(item);
      }
      this.slots.delete(slot);
    }
    for (const item of due) this.run(item);
    let next = Infinity;
    for (const slot of this.slots.keys()) if (slot < next) next = slot;
    if (next !== Infinity && next < this.armedSlot) this.arm(next);
  }
}
