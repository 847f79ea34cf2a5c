import type Redis from 'ioredis';
import type { ChangeRecord, JsonValue } from '../../model/config';
import type { SharedChange } from '../config-store';
import type { RedisKeys } from './keys';
import { ConfirmationGate } from './confirmation-gate';
import { fieldsOf, type StreamEntry } from './lua';

export interface FeedHandlers {
  readonly position: () => { version: number; sharedSeq: number };
  /** false: the record does not follow the replica's version (a gap). */
  readonly onRecord: (record: ChangeRecord) => boolean;
  readonly onShared: (seq: number, change: SharedChange) => boolean;
  /** The replica missed entries the feed no longer has: load everything. */
  readonly onGap: () => Promise<void>;
  readonly onStateChange: () => void;
  /**
   * Whether records wait for a confirmation entry before they are applied (replication-wait.ts): a
   * record read is held until an entry `a` says enough replicas have it.
   */
  readonly gated: boolean;
}

const BLOCK_MS = 2_000;

/**
 * Follows the config feed and the shared feed on a connection of its own (XREAD BLOCK holds it), from
 * the last ids seen. After a disconnect it resumes from those ids, so a replica that was away receives
 * what it missed; an entry that does not follow the replica's position means the feed was trimmed past
 * it, and the replica reloads.
 */
export class FeedFollower {
  private configId = '0-0';
  private sharedId = '0-0';
  private running = false;
  private lastHeardAt = Date.now();
  private catching: Promise<void> | undefined;
  /** Why the last read failed; undefined while reads succeed. */
  failing: string | undefined;
  /** Records read but not yet confirmed (with `gated`). */
  readonly gate = new ConfirmationGate();

  /** `blocking` is this follower's own connection; `main` serves the non-blocking catch-up reads. */
  constructor(
    private readonly redis: Redis,
    private readonly main: Redis,
    private readonly keys: RedisKeys,
    private readonly handlers: FeedHandlers,
  ) {
    this.redis.on('error', () => undefined);
  }

  async start(): Promise<void> {
    this.running = true;
    await this.redis.connect().catch(() => undefined);
    void this.loop();
  }

  stop(): void {
    this.running = false;
    this.redis.disconnect();
  }

  /** After a load: the feed is followed from `id`, and what was read before it is in the loaded state. */
  resetConfig(id: string): void {
    this.configId = id;
    this.gate.clear();
  }

  resetShared(id: string): void {
    this.sharedId = id;
  }

  lagMs(): number {
    return Math.max(0, Date.now() - this.lastHeardAt - BLOCK_MS);
  }

  /**
   * Every change up to `version` is held by enough replicas: apply what waited for it. False when the
   * replica misses a record the confirmation covers, or one does not follow (a gap: reload).
   */
  confirm(version: number): boolean {
    this.gate.confirm(version);
    const { records, gap } = this.gate.release(this.handlers.position().version);
    for (const record of records) if (!this.handlers.onRecord(record)) return false;
    return !gap;
  }

  /**
   * Reads what is new now (without blocking). A call while a read runs is queued behind it, not merged
   * into it: that read may have been sent before what this caller needs was written.
   */
  catchUp(): Promise<void> {
    const next = (this.catching ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => this.read(undefined, this.main));
    this.catching = next;
    void next
      .finally(() => {
        if (this.catching === next) this.catching = undefined;
      })
      .catch(() => undefined);
    return next;
  }

  private async loop(): Promise<void> {
    let delay = 50;
    while (this.running) {
      try {
        await this.read(BLOCK_MS, this.redis);
        delay = 50;
        if (this.failing !== undefined) {
          this.failing = undefined;
          this.handlers.onStateChange();
        }
      } catch (err) {
        if (!this.running) return;
        const reason = err instanceof Error ? err.message : String(err);
        if (this.failing === undefined) {
          this.failing = reason;
          this.handlers.onStateChange();
        }
        await new Promise((resolve) => setTimeout(resolve, delay).unref());
        delay = Math.min(delay * 2, 1_000);
      }
    }
  }

  private async read(blockMs: number | undefined, redis: Redis): Promise<void> {
    const args: (string | number)[] = ['COUNT', 1_000];
    if (blockMs !== undefined) args.push('BLOCK', blockMs);
    const reply = (await redis.call(
      'XREAD',
      ...args,
      'STREAMS',
      this.keys.feed,
      this.keys.sharedFeed,
      this.configId,
      this.sharedId,
    )) as unknown[] | null;
    this.lastHeardAt = Date.now();
    let gap = false;
    const streams = byStream(reply);
    for (const [stream, entries] of streams) {
      for (const [id, raw] of entries) {
        const f = fieldsOf(raw);
        if (stream === this.keys.feed) {
          this.configId = laterId(this.configId, id);
          if (gap) continue;
          const body = f.get('c');
          if (!this.handlers.gated) {
            if (body !== undefined && !this.handlers.onRecord(JSON.parse(body) as ChangeRecord)) gap = true;
          } else if (body !== undefined) {
            this.gate.hold(JSON.parse(body) as ChangeRecord);
            if (!this.confirm(0)) gap = true;
          } else if (!this.confirm(Number(f.get('a')))) gap = true;
        } else {
          this.sharedId = laterId(this.sharedId, id);
          const value = f.get('v') ?? '';
          const change: SharedChange = {
            ns: f.get('n') ?? '',
            field: f.get('f') ?? '',
            value: value === '' ? undefined : (JSON.parse(value) as JsonValue),
          };
          if (!gap && !this.handlers.onShared(Number(f.get('s')), change)) gap = true;
        }
      }
    }
    if (gap) await this.handlers.onGap();
    // A full page: there may be more; read on at once.
    if (streams.some(([, entries]) => entries.length >= 1_000)) await this.read(undefined, this.main);
  }
}

/**
 * XREAD's reply as [stream, entries] pairs: RESP2 gives [[stream, entries]…]; RESP3's map arrives
 * flattened as [stream, entries, stream, entries…].
 */
function byStream(reply: unknown[] | null): [string, StreamEntry[]][] {
  if (!reply || reply.length === 0) return [];
  if (Array.isArray(reply[0])) return reply as [string, StreamEntry[]][];
  const out: [string, StreamEntry[]][] = [];
  for (let i = 0; i + 1 < reply.length; i += 2) out.push([String(reply[i]), reply[i + 1] as StreamEntry[]]);
  return out;
}

/** The later of two stream ids ("ms-seq"), so that an overlapping older read never moves a position back. */
function laterId(a: string, b: string): string {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return bm > am || (bm === am && bs > as) ? b : a;
}
