import { DynamicTable, entrySize } from './dynamic-table';
import { huffmanDecode } from './huffman';
import { RecentBlocks } from './recent-blocks';
import { STATIC_TABLE } from './static-table';

/** Scratch entries kept between blocks (128 fields). */
const MAX_SCRATCH = 256;
/**
 * Fields gather here, block by block, for every decoder of the process: decoding is synchronous, so one
 * list serves them all, and ten thousand connections do not each keep one.
 */
let scratch: string[] = [];
/** What a block over the list size limit decodes to. */
const TOO_LARGE: string[] = [];

/** A header block that breaks RFC 7541: a connection error (COMPRESSION_ERROR), the table is out of sync. */
export class HpackError extends Error {}

/**
 * Decodes header blocks of one connection (RFC 7541) into a flat list [name0, value0, name1, value1, …],
 * in order, duplicates kept: what a proxy needs to pass headers on as they came. Octets become latin1
 * strings, so any byte round-trips.
 */
export class HpackDecoder {
  private readonly table: DynamicTable;
  private pos = 0;
  /** Where the block being decoded ends in its buffer. */
  private end = 0;
  private readonly recent = new RecentBlocks();
  private count = 0;
  /** Bytes of name and value in the last block, plus 32 per field (RFC 9113 §6.5.2's measure). */
  listSize = 0;

  /**
   * `maxTableSize`: our SETTINGS_HEADER_TABLE_SIZE, the most a size update may ask for. `maxListSize`:
   * past this, a block's fields are still decoded (the table must stay in step with the peer's) but no
   * longer kept: a small block of indexes to one large entry (an HPACK bomb) costs its bytes, not the
   * hundreds of MB it stands for. The caller sees `listSize` over the limit and an empty list.
   */
  constructor(
    private readonly maxTableSize = 4096,
    private readonly maxListSize = Infinity,
  ) {
    this.table = new DynamicTable(maxTableSize);
  }

  /**
   * The block's fields as a flat list. The list may be one returned before for the same bytes (see
   * RecentBlocks): it is shared, and must not be changed.
   */
  decode(block: Buffer, start = 0, end = block.length): readonly string[] {
    const version = this.table.version;
    const seen = this.recent.find(block, start, end, version);
    if (seen !== undefined) {
      this.listSize = this.recent.listSize;
      return seen;
    }
    const headers = this.decodeFields(block, start, end);
    // A block that changed the table decodes differently next time (its indexes have moved).
    if (this.table.version === version)
      this.recent.remember(block, start, end, headers, this.listSize, version);
    return headers;
  }

  /** block[start, end), field by field. */
  private decodeFields(block: Buffer, start: number, end: number): string[] {
    // Fields gather in a scratch list that keeps its size from block to block; the caller gets an exact-size
    // copy (growing a fresh array by push reallocates it about twice for a request's 20-odd entries).
    const out = scratch;
    this.count = 0;
    this.pos = start;
    this.end = end;
    this.listSize = 0;
    let fieldsSeen = false;
    while (this.pos < end) {
      const b = block[this.pos];
      if (b & 0x80) {
        const index = this.integer(block, 7);
        if (index === 0) throw new HpackError('HPACK: index 0');
        this.emit(out, this.nameAt(index), this.valueAt(index));
      } else if (b & 0x40) {
        const name = this.literalName(block, 6);
        const value = this.string(block);
        this.table.add(name, value);
        this.emit(out, name, value);
      } else if (b & 0x20) {
        if (fieldsSeen) throw new HpackError('HPACK: dynamic table size update after a header field');
        const size = this.integer(block, 5);
        if (size > this.maxTableSize)
          throw new HpackError(`HPACK: table size update to ${size} exceeds ${this.maxTableSize}`);
        this.table.resize(size);
        continue;
      } else {
        // Literal without indexing (0000) or never indexed (0001): a proxy passes it on as it is.
        const name = this.literalName(block, 4);
        this.emit(out, name, this.string(block));
      }
      fieldsSeen = true;
    }
    const fields = this.listSize > this.maxListSize ? TOO_LARGE : out.slice(0, this.count);
    // A block of many fields leaves a scratch list as long: not kept past what requests need.
    if (out.length > MAX_SCRATCH) scratch = [];
    return fields;
  }

  private emit(out: string[], name: string, value: string): void {
    this.listSize += entrySize(name, value);
    if (this.listSize > this.maxListSize) return; // counted, not kept
    out[this.count++] = name;
    out[this.count++] = value;
  }

  private literalName(block: Buffer, prefix: number): string {
    const index = this.integer(block, prefix);
    return index === 0 ? this.string(block) : this.nameAt(index);
  }

  private nameAt(index: number): string {
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1][0];
    return this.dynamic(index).name(index - STATIC_TABLE.length - 1);
  }

  private valueAt(index: number): string {
    if (index <= STATIC_TABLE.length) return STATIC_TABLE[index - 1][1];
    return this.dynamic(index).value(index - STATIC_TABLE.length - 1);
  }

  private dynamic(index: number): DynamicTable {
    if (index - STATIC_TABLE.length > this.table.length)
      throw new HpackError(`HPACK: index ${index} beyond the table (${this.table.length} dynamic entries)`);
    return this.table;
  }

  /** An integer with an N-bit prefix (RFC 7541 §5.1), at most 2^31. */
  private integer(block: Buffer, prefix: number): number {
    const max = (1 << prefix) - 1;
    let value = block[this.pos++] & max;
    if (value < max) return value;
    let shift = 0;
    for (;;) {
      if (this.pos >= this.end) throw new HpackError('HPACK: truncated integer');
      const b = block[this.pos++];
      value += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) break;
      if (shift > 28) throw new HpackError('HPACK: integer too large');
    }
    if (value > 0x7fffffff) throw new HpackError('HPACK: integer too large');
    return value;
  }

  private string(block: Buffer): string {
    if (this.pos >= this.end) throw new HpackError('HPACK: truncated string');
    const huffman = (block[this.pos] & 0x80) !== 0;
    const length = this.integer(block, 7);
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw new HpackError('HPACK: string runs past the block');
    this.pos = end;
    if (!huffman) return block.toString('latin1', start, end);
    try {
      return huffmanDecode(block, start, end);
    } catch (err) {
      throw new HpackError((err as Error).message);
    }
  }
}
