import {
  FEED_TOPICS,
  type FeedFilter,
  type FeedHub,
  type FeedMessage,
  type FeedTopic,
  matches,
} from '../../control-plane/feed/feed-hub';

/**
 * What a transport offers a feed client: its bytes not yet taken by the peer, a send and a close.
 * `send` gets the message's JSON and, for SSE framing, its event name and id (control messages: none).
 */
export interface FeedSink {
  buffered(): number;
  send(text: string, event: string, id?: number): void;
  close(reason: string): void;
}

export interface SlowConsumerLimits {
  /** Above this many bytes buffered, only the newest message per topic and engine is kept. */
  readonly coalesceAboveBytes: number;
  /** Above this many bytes held (buffered and kept) for `closeAfterMs`, the client is closed. */
  readonly closeAboveBytes: number;
  readonly closeAfterMs: number;
}

export const DEFAULT_LIMITS: SlowConsumerLimits = {
  coalesceAboveBytes: 256 * 1024,
  closeAboveBytes: 1024 * 1024,
  closeAfterMs: 10_000,
};

export interface FeedCounters {
  coalesced: number;
  closedSlow: number;
}

/**
 * One subscriber of the feed, whatever its transport. It sends what its filter selects; while the
 * peer is behind (more than `coalesceAboveBytes` unread) it keeps only the newest message per topic and
 * engine, so memory stays bounded by topics × engines however long the peer stalls; held above
 * `closeAboveBytes` for `closeAfterMs`, it is closed with the reason. Checked on each message and on
 * the gateway's tick.
 */
export class FeedClient {
  private filter: FeedFilter | undefined;
  private readonly pending = new Map<string, FeedMessage>();
  private pendingBytes = 0;
  /** Since when it has held more than closeAboveBytes (undefined: it does not). */
  private overSince: number | undefined;
  private closed = false;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly hub: FeedHub,
    private readonly sink: FeedSink,
    private readonly limits: SlowConsumerLimits,
    private readonly counters: FeedCounters,
    private readonly now: () => number = Date.now,
  ) {
    this.unsubscribe = hub.subscribe((m) => this.offer(m));
  }

  /**
   * Replaces the subscription (adds topics to an existing one). With `sinceId`, replays what the ring
   * holds after it, or tells the client to resynchronise when it no longer holds all of it.
   */
  subscribe(
    topics: readonly FeedTopic[],
    engines?: readonly string[],
    namespaces?: readonly string[],
    sinceId?: number,
    /** Without `sinceId`: first the newest this-many `events` (the fleet's log), for a page that loads. */
    recentEvents = 0,
  ): void {
    const all = new Set([...(this.filter?.topics ?? []), ...topics]);
    this.filter = {
      topics: all,
      ...(engines && engines.length > 0 && { engines: new Set(engines) }),
      ...(namespaces && namespaces.length > 0 && { namespaces: new Set(namespaces) }),
    };
    if (sinceId === undefined) {
      if (recentEvents > 0 && all.has('events'))
        for (const m of this.hub.recent('events', recentEvents, this.filter)) this.offer(m);
      return;
    }
    const missed = this.hub.since(sinceId);
    if (!missed) {
      this.control({
        op: 'resync',
        message: `events after ${sinceId} are no longer kept; read the current state from the REST API`,
        lastId: this.hub.lastId,
      });
      return;
    }
    for (const m of missed) this.offer(m);
  }

  unsubscribeTopics(topics: readonly FeedTopic[]): void {
    if (!this.filter) return;
    const left = new Set([...this.filter.topics].filter((t) => !topics.includes(t)));
    this.filter = { ...this.filter, topics: left };
  }

  /** A control message (pong, error, resync, heartbeat): never coalesced. */
  control(message: { op: string; [field: string]: unknown }): void {
    if (!this.closed) this.sink.send(JSON.stringify(message), message.op);
  }

  /** The gateway's tick: flush what was held once the peer caught up, close one stuck too long. */
  tick(): void {
    if (this.closed) return;
    this.flush();
    this.checkHeld();
  }

  close(): void {
    this.closed = true;
    this.unsubscribe();
    this.pending.clear();
  }

  get coalescing(): boolean {
    return this.pending.size > 0;
  }

  private offer(m: FeedMessage): void {
    if (this.closed || !this.filter || !matches(this.filter, m)) return;
    if (this.pending.size === 0 && this.sink.buffered() <= this.limits.coalesceAboveBytes) {
      this.sink.send(m.json, m.topic, m.id);
      return;
    }
    const key = `${m.topic}|${m.engine ?? ''}`;
    const replaced = this.pending.get(key);
    if (replaced) {
      this.pendingBytes -= replaced.json.length;
      this.counters.coalesced++;
    }
    this.pending.set(key, m);
    this.pendingBytes += m.json.length;
    this.checkHeld();
  }

  private flush(): void {
    if (this.pending.size === 0) return;
    // Oldest first, so ids still increase on the wire.
    const queue = [...this.pending.values()].sort((a, b) => a.id - b.id);
    for (const m of queue) {
      if (this.sink.buffered() > this.limits.coalesceAboveBytes) return;
      this.pending.delete(`${m.topic}|${m.engine ?? ''}`);
      this.pendingBytes -= m.json.length;
      this.sink.send(m.json, m.topic, m.id);
    }
  }

  private checkHeld(): void {
    const held = this.sink.buffered() + this.pendingBytes;
    if (held <= this.limits.closeAboveBytes) {
      this.overSince = undefined;
      return;
    }
    const now = this.now();
    if (this.overSince === undefined) this.overSince = now;
    else if (now - this.overSince >= this.limits.closeAfterMs) {
      this.counters.closedSlow++;
      const reason = `slow consumer: over ${Math.round(this.limits.closeAboveBytes / 1024)} KiB unread for ${this.limits.closeAfterMs / 1000} s`;
      this.close();
      this.sink.close(reason);
    }
  }
}

/** Validates topics a client named. */
export function parseTopics(raw: unknown): FeedTopic[] | string {
  if (!Array.isArray(raw) || raw.length === 0)
    return `topics must be a non-empty list of: ${FEED_TOPICS.join(', ')}`;
  for (const t of raw)
    if (typeof t !== 'string' || !(FEED_TOPICS as readonly string[]).includes(t))
      return `unknown topic ${JSON.stringify(t).slice(0, 64)}; known: ${FEED_TOPICS.join(', ')}`;
  return raw as FeedTopic[];
}

/** Validates an optional list of names (engines, namespaces). */
export function parseNames(raw: unknown, what: string): string[] | undefined | string {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw) || raw.some((x) => typeof x !== 'string' || x.length > 253))
    return `${what} must be a list of names`;
  return raw as string[];
}
