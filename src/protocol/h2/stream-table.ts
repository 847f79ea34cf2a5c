/** What the table holds: anything with a stream id. */
export interface HasStreamId {
  readonly id: number;
}

/** Slots per connection: streams open at once, most of the time, fit without collision. */
const SLOTS = 64;
/**
 * Slots a connection starts with, doubled up to SLOTS at the first collision: a connection that holds
 * one stream for hours (an xDS stream) need not carry 64.
 */
const FIRST_SLOTS = 4;

/**
 * A connection's open streams by id. A Map that fills and empties with every call reallocates its table
 * (V8 shrinks it when it empties, rehashes it as deleted entries pile up: about 150 bytes and a trip into
 * the runtime per call). Stream ids of one side rise by 2, so `id >> 1` modulo SLOTS puts the streams
 * open together in different slots of a fixed array; a stream whose slot is taken (by one still open
 * SLOTS ids earlier) goes to a Map instead, made only then.
 */
export class StreamTable<S extends HasStreamId> {
  private slots: (S | undefined)[] = new Array<S | undefined>(FIRST_SLOTS).fill(undefined);
  private overflow: Map<number, S> | undefined;
  size = 0;

  get(id: number): S | undefined {
    const s = this.slots[(id >>> 1) & (this.slots.length - 1)];
    if (s !== undefined && s.id === id) return s;
    return this.overflow?.get(id);
  }

  /** Adds a stream whose id is not in the table. */
  add(stream: S): void {
    let i = (stream.id >>> 1) & (this.slots.length - 1);
    while (this.slots[i] !== undefined && this.slots.length < SLOTS) {
      this.grow();
      i = (stream.id >>> 1) & (this.slots.length - 1);
    }
    if (this.slots[i] === undefined) this.slots[i] = stream;
    else (this.overflow ??= new Map()).set(stream.id, stream);
    this.size++;
  }

  /**
   * Twice the slots, each stream in its slot of the larger table: ids apart modulo n are apart modulo 2n,
   * so no two collide. Those in the overflow Map stay there (get and delete look there too).
   */
  private grow(): void {
    const old = this.slots;
    const next = new Array<S | undefined>(old.length * 2).fill(undefined);
    for (const s of old) if (s !== undefined) next[(s.id >>> 1) & (next.length - 1)] = s;
    this.slots = next;
  }

  delete(id: number): boolean {
    const i = (id >>> 1) & (this.slots.length - 1);
    const s = this.slots[i];
    if (s !== undefined && s.id === id) this.slots[i] = undefined;
    else if (this.overflow?.delete(id) !== true) return false;
    this.size--;
    return true;
  }

  /** The streams, copied: safe to close them while going through the list. */
  list(): S[] {
    const out: S[] = [];
    for (const s of this.slots) if (s !== undefined) out.push(s);
    if (this.overflow !== undefined) for (const s of this.overflow.values()) out.push(s);
    return out;
  }
}
