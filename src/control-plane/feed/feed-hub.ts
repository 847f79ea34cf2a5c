/** Topics of the live feed. */
export const FEED_TOPICS = ['metrics', 'health', 'events', 'alerts', 'circuits', 'rollouts'] as const;
export type FeedTopic = (typeof FEED_TOPICS)[number];

/** One message of the feed as it goes out, and what filters see of it. */
export interface FeedMessage {
  readonly topic: FeedTopic;
  /** Increasing per server: a client resumes from the last id it saw. */
  readonly id: number;
  /** RFC 3339. */
  readonly at: string;
  /** The engine it is about (filters and coalescing); absent: fleet-wide. */
  readonly engine?: string;
  readonly namespace?: string;
  /** The message as JSON (`{"topic","id","at","data"}`), made once for every client; the ring keeps only this. */
  readonly json: string;
}

export interface FeedFilter {
  readonly topics: ReadonlySet<FeedTopic>;
  /** Absent: every engine. */
  readonly engines?: ReadonlySet<string>;
  /** Absent: every namespace. Present: messages of other namespaces, and fleet-wide ones, are withheld. */
  readonly namespaces?: ReadonlySet<string>;
}

export function matches(filter: FeedFilter, m: FeedMessage): boolean {
  if (!filter.topics.has(m.topic)) return false;
  if (filter.namespaces && (m.namespace === undefined || !filter.namespaces.has(m.namespace))) return false;
  if (filter.engines && (m.engine === undefined || !filter.engines.has(m.engine))) return false;
  return true;
}

export type FeedListener = (m: FeedMessage) => void;

/**
 * The live feed's source: numbers messages, keeps the newest `ringSize` for clients that resume, and
 * hands each to every listener (the transports' clients). Transport-agnostic: the WebSocket and SSE
 * gateways sit on top.
 */
export class FeedHub {
  private readonly ring: FeedMessage[] = [];
  private readonly listeners = new Set<FeedListener>();
  private nextId = 1;
  /** Messages published per topic (metrics). */
  readonly published = new Map<FeedTopic, number>();

  constructor(
    private readonly ringSize = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  publish(topic: FeedTopic, data: unknown, about?: { engine?: string; namespace?: string }): FeedMessage {
    const id = this.nextId++;
    const at = new Date(this.now()).toISOString();
    const message: FeedMessage = {
      topic,
      id,
      at,
      ...(about?.engine !== undefined && { engine: about.engine }),
      ...(about?.namespace !== undefined && { namespace: about.namespace }),
      json: JSON.stringify({ topic, id, at, data }),
    };
    this.ring.push(message);
    if (this.ring.length > this.ringSize) this.ring.splice(0, this.ring.length - this.ringSize);
    this.published.set(topic, (this.published.get(topic) ?? 0) + 1);
    for (const l of this.listeners) l(message);
    return message;
  }

  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The id of the newest message (0 before any). */
  get lastId(): number {
    return this.nextId - 1;
  }

  /**
   * Messages after `sinceId`, oldest first, or undefined when the ring no longer holds all of them (the
   * client must resynchronise from the REST API).
   */
  /** The newest `count` messages of `topic` the ring holds that `filter` takes, oldest first. */
  recent(topic: FeedMessage['topic'], count: number, filter: FeedFilter): FeedMessage[] {
    const out: FeedMessage[] = [];
    for (let i = this.ring.length - 1; i >= 0 && out.length < count; i--) {
      const m = this.ring[i];
      if (m.topic === topic && matches(filter, m)) out.push(m);
    }
    return out.reverse();
  }

  since(sinceId: number): readonly FeedMessage[] | undefined {
    if (sinceId >= this.lastId) return [];
    const oldest = this.ring[0]?.id ?? this.nextId;
    if (sinceId < oldest - 1) return undefined;
    return this.ring.slice(sinceId - oldest + 1);
  }
}
