import { token } from './api';

/** A live-feed message. */
export interface FeedMessage {
  topic: string;
  id: number;
  at: string;
  data: unknown;
}

export type FeedState = 'connecting' | 'live' | 'reconnecting';

/**
 * The WebSocket feed, kept alive: on a drop it reconnects with jittered exponential backoff and
 * resumes from the last id it saw; a `resync` answer means events were missed, so the page reloads its
 * state from the REST API (`onResync`).
 */
export class Feed {
  private ws: WebSocket | undefined;
  private lastId: number | undefined;
  private attempt = 0;
  private stopped = false;

  constructor(
    private readonly topics: string[],
    private readonly onMessage: (m: FeedMessage) => void,
    private readonly onState: (s: FeedState) => void,
    private readonly onResync: () => void,
  ) {}

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    this.ws?.close();
  }

  private connect(): void {
    this.onState(this.attempt === 0 ? 'connecting' : 'reconnecting');
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    // A browser's WebSocket cannot send headers: the token goes in the query, as the API allows.
    const t = token();
    const query = t ? `?access_token=${encodeURIComponent(t)}` : '';
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/nerve/ws${query}`);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.onState('live');
      ws.send(
        JSON.stringify({
          op: 'subscribe',
          topics: this.topics,
          // Resuming: what came since; a page that just loaded: the last events, so its log is not empty.
          ...(this.lastId !== undefined ? { since: this.lastId } : { recent: 50 }),
        }),
      );
    };
    ws.onmessage = (e) => {
      const m = JSON.parse(String(e.data)) as FeedMessage & { op?: string };
      if (m.op === 'resync') return this.onResync();
      if (m.op) return;
      this.lastId = m.id;
      this.onMessage(m);
    };
    ws.onclose = () => {
      if (this.stopped) return;
      this.onState('reconnecting');
      const delay = Math.random() * Math.min(10_000, 250 * 2 ** this.attempt++);
      setTimeout(() => this.connect(), delay);
    };
  }
}
