import { Buffer } from 'node:buffer';
/**
 * The last few header blocks a decoder decoded without changing its dynamic table, with what they
 * decoded to. Calls on a connection repeat their header blocks byte for byte (a client's request, an
 * instance's response headers and trailers: indexed fields, and literals that do not index such as a
 * date that changes once a second), so most blocks are answered by comparing bytes instead of decoding.
 *
 * Contract: an entry holds only while the table is the one it was decoded against (same `version`), and
 * the list it returns is shared by every caller that gets it: nobody may change it.
 */
interface Recent {
  readonly bytes: Buffer;
  readonly headers: readonly string[];
  readonly listSize: number;
  readonly version: number;
}

/** Blocks kept: a request shape, or a response's headers and trailers, with room for a second shape. */
const SLOTS = 4;
/** Longer blocks are not kept: comparing them would cost about what decoding them does. */
const MAX_RECENT_BYTES = 256;

export class RecentBlocks {
  private readonly slots: (Recent | undefined)[] = new Array<Recent | undefined>(SLOTS).fill(undefined);
  private next = 0;
  /** listSize of the block last found. */
  listSize = 0;

  /** The list block[start, end) decoded to when the table was at `version`, if it is a recent one. */
  find(block: Buffer, start: number, end: number, version: number): readonly string[] | undefined {
    const n = end - start;
    if (n > MAX_RECENT_BYTES) return undefined;
    for (let s = 0; s < SLOTS; s++) {
      const r = this.slots[s];
      if (r === undefined || r.version !== version || r.bytes.length !== n) continue;
      const bytes = r.bytes;
      let i = 0;
      while (i < n && bytes[i] === block[start + i]) i++;
      if (i === n) {
        this.listSize = r.listSize;
        return r.headers;
      }
    }
    return undefined;
  }

  /** Keeps a copy of block[start, end) (the caller's buffer is reused) with its list; the oldest goes. */
  remember(
    block: Buffer,
    start: number,
    end: number,
    headers: readonly string[],
    listSize: number,
    version: number,
  ): void {
    if (end - start > MAX_RECENT_BYTES) return;
    this.slots[this.next] = { bytes: Buffer.from(block.subarray(start, end)), headers, listSize, version };
    this.next = (this.next + 1) % SLOTS;
  }
}
