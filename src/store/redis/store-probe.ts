import type Redis from 'ioredis';
import type { RedisKeys } from './keys';

/**
 * What one identity read found: the store's generation, version, diverged marker and shared-state
 * sequence (null when absent).
 */
export type IdentityReading = readonly [
  generation: string | null,
  version: string | null,
  marker: string | null,
  sharedSeq: string | null,
  /** The store's change record at the version asked for (null: none, or none asked). */
  record: string | null,
];

/**
 * The store's identity read on the main connection (one MGET of four short keys and one HGET, with Redis's TIME):
 * it says whether Redis answers at all (a hung Redis keeps its connection open and answers nothing),
 * and measures Redis's clock against this one, which commit deadlines are written in.
 */
export class StoreProbe {
  /** Since when reads have gone unanswered (0: the last one answered). */
  private silentSince = 0;
  private pending = false;
  /** Redis's clock minus this one's; undefined until measured. */
  clockOffsetMs: number | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly now: () => number = Date.now,
  ) {}

  /** How long Redis has left reads unanswered (0 while it answers). */
  silentForMs(): number {
    return this.silentSince === 0 ? 0 : this.now() - this.silentSince;
  }

  /** A reconnect starts the count again. */
  reset(): void {
    this.silentSince = 0;
  }

  /** Reads the identity; undefined when a read is already out or this one got no answer. */
  /**
   * Reads the identity, and the store's change record at `version` (0: none) so that a replica can tell
   * whether the store still holds the history it applied.
   */
  async read(version = 0): Promise<IdentityReading | undefined> {
    if (this.pending) return undefined;
    this.pending = true;
    if (this.silentSince === 0) this.silentSince = this.now();
    try {
      const k = this.keys;
      const sent = this.now();
      const [reading, time, record] = await Promise.all([
        this.redis.mget(k.generation, k.version, k.diverged, k.sharedSeq),
        this.redis.time(),
        version > 0 ? this.redis.hget(k.changes, String(version)) : null,
      ]);
      this.clockOffsetMs =
        Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000) - (sent + this.now()) / 2;
      this.silentSince = 0;
      return [...reading, record] as unknown as IdentityReading;
    } catch {
      return undefined; // unanswered: silentSince stands until a read is answered
    } finally {
      this.pending = false;
    }
  }
}
