import type { CachePolicy } from '../../../gen/nerve/discovery/v1/policy';

/** A cached answer: the instance's response headers, its one message (gRPC framed), its trailers. */
export interface CachedResponse {
  readonly headers: readonly string[];
  /**
   * The headers a hit is answered with (x-nerve-cache: hit), made once per entry: the HPACK encoder
   * re-sends the bytes of a list object it has seen, so a hit costs no header encoding.
   */
  readonly hitHeaders: readonly string[];
  readonly body: Buffer;
  readonly trailers: readonly string[];
  readonly expiresAt: number;
  readonly bytes: number;
}

/** What a cache counts (router /metrics). */
export interface CacheCounters {
  hits: number;
  misses: number;
  coalesced: number;
  evictions: number;
  stores: number;
}

const ENTRY_OVERHEAD = 200;

/**
 * One engine's responses, least recently used first (a Map keeps insertion order: a hit moves its entry
 * to the end). Bounded by entries and bytes; an entry past its TTL is a miss and is dropped when met.
 */
export class ResponseCache {
  private readonly entries = new Map<string, CachedResponse>();
  private bytes = 0;
  readonly counters: CacheCounters = { hits: 0, misses: 0, coalesced: 0, evictions: 0, stores: 0 };
  /** Identical calls in flight: key → the callers waiting for the first one's answer. */
  readonly inFlight = new Map<
    string,
    ((r: CachedResponse | undefined, trailers: readonly string[]) => void)[]
  >();

  constructor(readonly policy: CachePolicy) {}

  get size(): number {
    return this.entries.size;
  }

  get sizeBytes(): number {
    return this.bytes;
  }

  get(key: string, now: number): CachedResponse | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    if (e.expiresAt <= now) {
      this.bytes -= e.bytes;
      return undefined;
    }
    this.entries.set(key, e);
    return e;
  }

  set(
    key: string,
    headers: readonly string[],
    body: Buffer,
    trailers: readonly string[],
    now: number,
  ): CachedResponse | undefined {
    const bytes = body.length + key.length + ENTRY_OVERHEAD;
    if (bytes > Number(this.policy.maxBytes)) return undefined;
    const old = this.entries.get(key);
    if (old) {
      this.entries.delete(key);
      this.bytes -= old.bytes;
    }
    const hitHeaders = [
      ...headers.filter((_, i) =>
        i % 2 === 0 ? headers[i] !== 'x-nerve-cache' : headers[i - 1] !== 'x-nerve-cache',
      ),
      'x-nerve-cache',
      'hit',
    ];
    const e: CachedResponse = {
      headers,
      hitHeaders,
      body,
      trailers,
      expiresAt: now + this.policy.ttlMs,
      bytes,
    };
    this.entries.set(key, e);
    this.bytes += bytes;
    this.counters.stores++;
    for (const [k, victim] of this.entries) {
      if (this.entries.size <= this.policy.maxEntries && this.bytes <= Number(this.policy.maxBytes)) break;
      this.entries.delete(k);
      this.bytes -= victim.bytes;
      this.counters.evictions++;
    }
    return e;
  }

  /** Drops every entry (the engine's versions changed: answers may differ now). */
  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }
}
