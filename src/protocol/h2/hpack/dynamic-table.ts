/** An entry's size in the table: name and value octets plus 32 (RFC 7541 §4.1). */
export function entrySize(name: string, value: string): number {
  return name.length + value.length + 32;
}

/**
 * HPACK's dynamic table (RFC 7541 §2.3.2): newest entry first, oldest evicted when the size would exceed
 * the maximum. Entries carry an absolute number (insertion count) so an encoder can find one it indexed
 * earlier and tell whether it is still there.
 */
export class DynamicTable {
  /**
   * Name and value of each entry, one after the other, oldest first: one array rather than two (a
   * connection holds two tables, and an array's first growth takes 17 slots).
   */
  private readonly fields: string[] = [];
  /** Position in `fields` of the oldest entry still in the table (its name). */
  private first = 0;
  size = 0;
  /** Entries ever added: the newest entry's absolute number is inserted - 1. */
  inserted = 0;
  /** Counts every change (entries added, size changed): equal counts mean the same table. */
  version = 0;

  constructor(public maxSize = 4096) {}

  get length(): number {
    return (this.fields.length - this.first) >> 1;
  }

  /** Absolute number of the oldest entry still in the table. */
  get oldest(): number {
    return this.inserted - this.length;
  }

  /** 0 is the newest entry. */
  name(index: number): string {
    return this.fields[this.fields.length - 2 - 2 * index];
  }

  value(index: number): string {
    return this.fields[this.fields.length - 1 - 2 * index];
  }

  /** Adds an entry; one larger than the whole table empties it and is not kept (RFC 7541 §4.4). */
  add(name: string, value: string): void {
    const size = entrySize(name, value);
    this.inserted++;
    this.version++;
    if (size > this.maxSize) {
      this.evictTo(0);
      this.first = this.fields.length = 0;
      return;
    }
    this.evictTo(this.maxSize - size);
    this.fields.push(name, value);
    this.size += size;
  }

  resize(maxSize: number): void {
    this.maxSize = maxSize;
    this.version++;
    this.evictTo(maxSize);
  }

  private evictTo(limit: number): void {
    const fields = this.fields;
    while (this.size > limit && this.first < fields.length) {
      this.size -= entrySize(fields[this.first], fields[this.first + 1]);
      this.first += 2;
    }
    // Drop evicted slots now and then, not at every eviction (an array shift is O(n)).
    if (this.first > 64 && this.first * 2 > fields.length) {
      fields.splice(0, this.first);
      this.first = 0;
    }
  }
}
