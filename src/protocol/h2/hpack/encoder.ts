import type { AddedField } from './added-field';
import { Buffer } from 'node:buffer';
import { DynamicTable } from './dynamic-table';
import { STATIC_TABLE } from './static-table';

/** A name's index, and its values' indexes: looked up without building a key string per field. */
interface NameEntry {
  index: number;
  readonly values: Map<string, number>;
}

/**
 * The last block that began with a given name, field by field, and how each was sent: calls on a
 * connection repeat their headers in the same order (and a proxy passes on the very string objects its
 * decoder keeps in its table), so most fields are found by comparing with the field at the same place
 * last time — one map lookup per block instead of three or four per field, and little memory touched.
 */
interface BlockMemo {
  readonly names: string[];
  readonly values: string[];
  /** Per field: its static index (> 0), -(absolute + 1) for a dynamic entry, 0 when sent as a literal. */
  readonly exact: number[];
}

const newMemo = (): BlockMemo => ({ names: [], values: [], exact: [] });
/** The memo of a list's first block, shared by every encoder (encoding is synchronous). */
const FIRST_BLOCK = newMemo();

/**
 * A block as sent for the very lists given (header lists are never changed once made: a decoded list is
 * reused for an identical block), when encoding them left the table as it was: the same lists against
 * the same table (`version`) encode to the same bytes.
 */
interface SentBlock {
  readonly headers: readonly string[];
  readonly extra: readonly string[] | undefined;
  readonly skip: ((name: string) => boolean) | undefined;
  readonly version: number;
  readonly bytes: Buffer;
}

const STATIC_INDEX = new Map<string, NameEntry>();
STATIC_TABLE.forEach(([name, value], i) => {
  const entry = STATIC_INDEX.get(name) ?? { index: i + 1, values: new Map<string, number>() };
  entry.values.set(value, i + 1);
  STATIC_INDEX.set(name, entry);
});

/**
 * Values that change from call to call: indexing them would only churn the table. Sensitive ones go as
 * never-indexed literals, which intermediaries must not index either (RFC 7541 §7.1.3).
 */
const NOT_INDEXED = new Set([
  'grpc-timeout',
  'grpc-message',
  'content-length',
  'x-nerve-session',
  'date',
  'traceparent',
]);
const SENSITIVE = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie', 'x-api-key']);
/** Values this long are sent as literals: they would push a whole table of useful entries out. */
const MAX_INDEXED_VALUE = 512;
/** Longest encoded block kept for reuse; larger ones are rare and re-encoded. */
const MAX_KEPT_BLOCK = 1024;
/** Block shapes remembered (by first name); past this, the memory restarts. */
const MAX_MEMOS = 16;

/**
 * Encodes header lists of one connection (RFC 7541): exact matches as indexes, others as literals added
 * to the dynamic table unless they vary per call or are sensitive. Strings go without Huffman coding
 * (allowed, and cheaper to produce); the peer's table is what our inserts make it.
 */
export class HpackEncoder {
  private readonly table = new DynamicTable(4096);
  /** Name to the absolute number of the newest entry with that name, and of each value's newest entry. */
  private readonly index = new Map<string, NameEntry>();
  /** By a list's first name; null: seen once, not memoised yet. */
  private readonly memos = new Map<string, BlockMemo | null>();
  private memo: BlockMemo = FIRST_BLOCK;
  /** The last blocks sent, found by their lists' identity (`repeat`): a connection repeats a few shapes. */
  private readonly sent: (SentBlock | undefined)[] = [undefined, undefined, undefined, undefined];
  private nextSent = 0;
  /** Position in the block being encoded (fields written so far). */
  private slot = 0;
  private indexed = 0;
  private sizeUpdate = -1;
  /** The smallest size the table had since the last block: signalled first when below sizeUpdate. */
  private smallestUpdate = -1;
  private pos = 0;

  /** `cap`: the most our table may take, whatever the peer allows (its memory is ours too). */
  constructor(private readonly cap = 4096) {
    if (cap < 4096) this.setMaxTableSize(cap);
  }

  /**
   * The peer's SETTINGS_HEADER_TABLE_SIZE: our table shrinks (or grows to at most `cap`) from the next
   * block. When it shrank and grew again before that block, both are signalled, the smallest first
   * (RFC 7541 §4.2): the peer's table must evict what ours did.
   */
  setMaxTableSize(size: number): void {
    const next = Math.min(size, this.cap);
    if (next === this.table.maxSize && this.sizeUpdate < 0) return;
    this.smallestUpdate = this.sizeUpdate < 0 ? next : Math.min(this.smallestUpdate, next);
    this.table.resize(next);
    this.sizeUpdate = next;
  }

  /**
   * Encodes name/value pairs (flat list; `extra` pairs after them), skipping the names `skip` says to,
   * into a buffer whose first `reserve` bytes are left for the caller (a frame header). The buffer is
   * shared by every encoder (SCRATCH): use it before the next block is encoded, here or elsewhere.
   */
  encode(
    headers: readonly string[],
    extra: readonly string[] | undefined,
    skip: ((name: string) => boolean) | undefined,
    reserve: number,
    added?: AddedField,
    addedSeed = 0,
  ): Buffer {
    // The end first: encoding may replace the buffer (a block that outgrew it).
    const end = this.encodeInto(headers, extra, skip, reserve, added, addedSeed);
    return SCRATCH.buf.subarray(0, end);
  }

  /** The buffer encodeInto() wrote to (replaced when a block outgrows it). */
  get buffer(): Buffer {
    return SCRATCH.buf;
  }

  /** encode() without making a view: the block is `buffer` up to the returned end. */
  encodeInto(
    headers: readonly string[],
    extra: readonly string[] | undefined,
    skip: ((name: string) => boolean) | undefined,
    reserve: number,
    added?: AddedField,
    addedSeed = 0,
  ): number {
    const end = this.encodeLists(headers, extra, skip, reserve);
    if (added !== undefined) this.addField(added, addedSeed);
    return added === undefined ? end : this.pos;
  }

  /** The field an AddedField makes, after the block (which stays kept without it). */
  private addField(added: AddedField, seed: number): void {
    const head = added.head;
    const words = head.length;
    this.ensure(words * 4 + added.length);
    const view = SCRATCH.view;
    const at = this.pos;
    for (let i = 0; i < words; i++) view.setUint32(at + i * 4, head[i]);
    added.write(view, at + added.headLength, seed);
    this.pos = at + added.headLength + added.length;
  }

  private encodeLists(
    headers: readonly string[],
    extra: readonly string[] | undefined,
    skip: ((name: string) => boolean) | undefined,
    reserve: number,
  ): number {
    this.pos = reserve;
    if (this.sizeUpdate >= 0) {
      this.ensure(12);
      if (this.smallestUpdate < this.sizeUpdate) this.integer(0x20, 5, this.smallestUpdate);
      this.integer(0x20, 5, this.sizeUpdate);
      this.sizeUpdate = this.smallestUpdate = -1;
    }
    const again = this.pos === reserve ? this.repeat(headers, extra, skip) : undefined;
    if (again !== undefined) {
      this.ensure(again.length);
      SCRATCH.buf.set(again, this.pos);
      this.pos += again.length;
      return this.pos;
    }
    const first = headers.length > 0 ? headers[0] : '';
    let memo = this.memos.get(first);
    if (memo === null) {
      memo = newMemo(); // a list seen before: it may well repeat, so its fields are remembered
      this.memos.set(first, memo);
    } else if (memo === undefined) {
      // The first block of its kind on this connection gets a scratch memo, emptied: a connection that
      // sends one header block in its life (an xDS stream) keeps no memo of it.
      if (this.memos.size >= MAX_MEMOS) this.memos.clear();
      this.memos.set(first, null);
      memo = FIRST_BLOCK;
      memo.names.length = memo.values.length = memo.exact.length = 0;
    }
    const version = this.table.version;
    this.memo = memo;
    this.slot = 0;
    const start = this.pos;
    this.fields(headers, skip);
    if (extra) this.fields(extra, skip);
    this.keep(headers, extra, skip, version, start);
    return this.pos;
  }

  /**
   * The block these very lists encoded to last time, when it is right to send it again as it is (the
   * table unchanged since, no size update due); undefined otherwise (encode them). Shared: copy it.
   */
  repeat(
    headers: readonly string[],
    extra: readonly string[] | undefined,
    skip: ((name: string) => boolean) | undefined,
  ): Buffer | undefined {
    if (this.sizeUpdate >= 0) return undefined;
    const version = this.table.version;
    const at = this.sentAt(headers, extra, skip);
    return at >= 0 && this.sent[at]!.version === version ? this.sent[at]!.bytes : undefined;
  }

  /** Where the block sent for these lists is kept; -1 if none is. */
  private sentAt(
    headers: readonly string[],
    extra: readonly string[] | undefined,
    skip: ((name: string) => boolean) | undefined,
  ): number {
    for (let i = 0; i < this.sent.length; i++) {
      const s = this.sent[i];
      if (s !== undefined && s.headers === headers && s.extra === extra && s.skip === skip) return i;
    }
    return -1;
  }

  /** Remembers the block just written for these lists (in their old place, if any), unless it changed the table. */
  private keep(
    headers: readonly string[],
    extra: readonly string[] | undefined,
    skip: ((name: string) => boolean) | undefined,
    version: number,
    start: number,
  ): void {
    if (this.table.version !== version || this.pos - start > MAX_KEPT_BLOCK) return;
    const bytes = Buffer.from(SCRATCH.buf.subarray(start, this.pos));
    let at = this.sentAt(headers, extra, skip);
    if (at < 0) {
      at = this.nextSent;
      this.nextSent = (this.nextSent + 1) % this.sent.length;
    }
    this.sent[at] = { headers, extra, skip, version, bytes };
  }

  private fields(headers: readonly string[], skip: ((name: string) => boolean) | undefined): void {
    for (let i = 0; i < headers.length; i += 2) {
      const name = headers[i];
      if (skip?.(name)) continue;
      this.field(name, headers[i + 1]);
    }
  }

  private field(name: string, value: string): void {
    this.ensure(name.length + value.length + 12);
    const memo = this.memo;
    const i = this.slot++;
    if (memo.names[i] === name && memo.values[i] === value) {
      const e = memo.exact[i];
      const again = e > 0 ? e : e < 0 ? this.dynamicIndex(-e - 1) : undefined;
      if (again !== undefined) {
        this.integer(0x80, 7, again);
        return;
      }
    }
    memo.names[i] = name;
    memo.values[i] = value;
    const known = STATIC_INDEX.get(name);
    const dynamic = this.index.get(name);
    const staticIndex = known?.values.get(value);
    if (staticIndex !== undefined) {
      memo.exact[i] = staticIndex;
      this.integer(0x80, 7, staticIndex);
      return;
    }
    const absolute = dynamic?.values.get(value);
    const exact = this.dynamicIndex(absolute);
    if (exact !== undefined) {
      memo.exact[i] = -absolute! - 1;
      this.integer(0x80, 7, exact);
      return;
    }
    memo.exact[i] = 0;
    const nameIndex = known?.index ?? this.dynamicIndex(dynamic?.index) ?? 0;
    if (SENSITIVE.has(name)) {
      this.integer(0x10, 4, nameIndex);
    } else if (NOT_INDEXED.has(name) || value.length > MAX_INDEXED_VALUE) {
      this.integer(0x00, 4, nameIndex);
    } else {
      this.integer(0x40, 6, nameIndex);
      const added = this.remember(name, value, dynamic);
      if (added !== undefined) memo.exact[i] = -added - 1;
    }
    if (nameIndex === 0) this.string(name);
    this.string(value);
  }

  /** The HPACK index of the entry with this absolute number, if it is still in the table. */
  private dynamicIndex(absolute: number | undefined): number | undefined {
    if (absolute === undefined || absolute < this.table.oldest) return undefined;
    return STATIC_TABLE.length + this.table.inserted - absolute;
  }

  /** Adds the field to the table; its absolute number, unless it was too large to keep. */
  private remember(name: string, value: string, dynamic: NameEntry | undefined): number | undefined {
    this.table.add(name, value);
    const absolute = this.table.inserted - 1;
    if (absolute < this.table.oldest) return undefined; // too large to keep
    if (dynamic === undefined)
      this.index.set(name, { index: absolute, values: new Map([[value, absolute]]) });
    else {
      dynamic.index = absolute;
      dynamic.values.set(value, absolute);
    }
    // Evicted entries' numbers stay behind (dynamicIndex ignores them); sweep them now and then so the
    // maps do not grow without bound.
    if (++this.indexed % 1024 === 0) this.sweep();
    return absolute;
  }

  private sweep(): void {
    const oldest = this.table.oldest;
    for (const [name, entry] of this.index) {
      for (const [value, n] of entry.values) if (n < oldest) entry.values.delete(value);
      if (entry.values.size === 0 && entry.index < oldest) this.index.delete(name);
    }
  }

  private integer(flags: number, prefix: number, value: number): void {
    const max = (1 << prefix) - 1;
    if (value < max) {
      SCRATCH.buf[this.pos++] = flags | value;
      return;
    }
    SCRATCH.buf[this.pos++] = flags | max;
    value -= max;
    while (value >= 0x80) {
      SCRATCH.buf[this.pos++] = (value & 0x7f) | 0x80;
      value = Math.floor(value / 0x80);
    }
    SCRATCH.buf[this.pos++] = value;
  }

  private string(s: string): void {
    const n = s.length;
    this.integer(0x00, 7, n);
    if (n > 64) {
      this.pos += SCRATCH.buf.write(s, this.pos, 'latin1');
      return;
    }
    // Header strings are short: a loop costs less than Buffer#write's argument checks (~26 vs ~63 ns).
    const buf = SCRATCH.buf;
    const at = this.pos;
    for (let i = 0; i < n; i++) buf[at + i] = s.charCodeAt(i);
    this.pos = at + n;
  }

  private ensure(more: number): void {
    if (this.pos + more <= SCRATCH.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(SCRATCH.buf.length * 2, this.pos + more));
    SCRATCH.buf.copy(bigger, 0, 0, this.pos);
    SCRATCH.buf = bigger;
    SCRATCH.view = viewOf(bigger);
  }
}

/**
 * The buffer every encoder writes its blocks to: a block is taken (copied or framed) before the next is
 * encoded, by this connection or any other, so one buffer serves them all, and ten thousand xDS
 * connections do not each hold one (a slice of Node's pool keeps its whole 8 KiB slab alive).
 */
const SCRATCH = { buf: Buffer.allocUnsafeSlow(4096), view: undefined as unknown as DataView };
SCRATCH.view = viewOf(SCRATCH.buf);

function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}
