import type * as http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Request, Response } from 'express';
import { Counter, Gauge, type Registry } from 'prom-client';
import { WebSocket, WebSocketServer } from 'ws';
import type { FeedHub } from '../../control-plane/feed/feed-hub';
import type { Logger } from '../../observability/logger';
import { listParam } from '../http/query';
import { NerveError } from '../../model/errors';
import { authenticateOpen, authorize, type Authenticator } from '../../security/authenticator';
import { RateLimitedError } from '../../security/call-limits';
import { credentialsOf, principalOf } from '../http/rest-auth';
import type { Principal } from '../../model/security/principal';
import { allows } from '../../model/security/roles';
import {
  DEFAULT_LIMITS,
  FeedClient,
  type FeedCounters,
  parseNames,
  parseTopics,
  type SlowConsumerLimits,
} from './feed-client';

export const FEED_WS_PATH = '/api/v1/nerve/ws';

/** An upgrade without valid credentials: 401 (or 403), with the reason, before any WebSocket exists. */
function refuseUpgrade(socket: Duplex, err: unknown): void {
  const code = err instanceof NerveError ? err.code : 'UNAUTHENTICATED';
  const message = err instanceof NerveError ? err.message : 'authentication failed';
  const status =
    code === 'PERMISSION_DENIED'
      ? '403 Forbidden'
      : code === 'RESOURCE_EXHAUSTED'
        ? '429 Too Many Requests'
        : '401 Unauthorized';
  const extra =
    code === 'UNAUTHENTICATED'
      ? 'www-authenticate: Bearer realm="nerve"\r\n'
      : err instanceof RateLimitedError
        ? `retry-after: ${err.retryAfterS}\r\n`
        : '';
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-type: application/json\r\n` +
      `${extra}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export interface FeedGatewayOptions {
  readonly limits?: SlowConsumerLimits;
  /** Heartbeats (and WebSocket pings: a peer that missed one is dropped) every this often. */
  readonly heartbeatMs?: number;
  /** How often held messages are flushed and stuck clients checked. */
  readonly tickMs?: number;
  /** Largest client message accepted. */
  readonly maxClientMessageBytes?: number;
  /** Who may subscribe (viewer and above); absent: anyone. SSE is guarded by its route. */
  readonly auth?: Authenticator;
}

/**
 * The live feed's transports: WebSocket at /api/v1/nerve/ws and Server-Sent Events at
 * /api/v1/nerve/events, both over the same FeedHub and FeedClient (filters, resume, slow consumers).
 */
export class FeedGateway {
  private readonly clients = new Map<FeedClient, 'ws' | 'sse'>();
  private readonly counters: FeedCounters = { coalesced: 0, closedSlow: 0 };
  private readonly limits: SlowConsumerLimits;
  private readonly wss: WebSocketServer;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly hub: FeedHub,
    private readonly logger: Logger,
    registry?: Registry,
    private readonly options: FeedGatewayOptions = {},
  ) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxClientMessageBytes ?? 64 * 1024,
    });
    this.timers.push(setInterval(() => this.tick(), options.tickMs ?? 250).unref());
    this.timers.push(setInterval(() => this.heartbeat(), options.heartbeatMs ?? 15_000).unref());
    if (registry) this.register(registry);
  }

  /** Serves WebSocket upgrades on FEED_WS_PATH of this HTTP server. */
  attach(server: http.Server): void {
    server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const path = (req.url ?? '').split('?')[0];
      if (path !== FEED_WS_PATH) {
        socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
        return;
      }
      const auth = this.options.auth;
      if (!auth) {
        this.wss.handleUpgrade(req, socket, head, (ws) => this.serveWebSocket(ws));
        return;
      }
      const credentials = credentialsOf(req, true);
      authenticateOpen(auth, credentials, req.socket.remoteAddress ?? 'unknown')
        .then((p) => {
          authorize(p, 'viewer', 'the live feed');
          this.wss.handleUpgrade(req, socket, head, (ws) => {
            this.serveWebSocket(ws);
            const untrack = auth.sessions.track(credentials, p, viewerMay, (reason) =>
              ws.close(1008, `feed ended: ${reason}`.slice(0, 120)),
            );
            ws.on('close', untrack);
          });
        })
        .catch((err: unknown) => refuseUpgrade(socket, err));
    });
  }

  /** GET /api/v1/nerve/events?topics=…&engines=…&namespaces=…, resuming after Last-Event-ID or ?since=. */
  sse(req: Request, res: Response): void {
    const topics = parseTopics(listParam(req.query, 'topics') ?? []);
    if (typeof topics === 'string') {
      res.status(400).json({ error: { code: 'INVALID_ARGUMENT', message: topics } });
      return;
    }
    const lastEventId = req.get('last-event-id') ?? (req.query.since as string | undefined);
    if (lastEventId !== undefined && !/^\d{1,15}$/.test(lastEventId)) {
      res
        .status(400)
        .json({ error: { code: 'INVALID_ARGUMENT', message: 'Last-Event-ID (since) must be an event id' } });
      return;
    }
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    const client = new FeedClient(
      this.hub,
      {
        buffered: () => res.writableLength,
        send: (text, event, id) => {
          res.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${text}\n\n`);
        },
        close: (reason) => {
          res.write(`event: error\ndata: ${JSON.stringify({ op: 'error', message: reason })}\n\n`);
          res.destroy();
        },
      },
      this.limits,
      this.counters,
    );
    this.clients.set(client, 'sse');
    res.on('close', () => this.drop(client));
    const principal = principalOf(res.locals);
    if (principal && this.options.auth) {
      const untrack = this.options.auth.sessions.track(
        credentialsOf(req, true),
        principal,
        viewerMay,
        // Ended, not destroyed: the reason reaches the client, whose reconnect is then refused.
        (reason) =>
          res.end(
            `event: error\ndata: ${JSON.stringify({ op: 'error', message: `feed ended: ${reason}` })}\n\n`,
          ),
      );
      res.on('close', untrack);
    }
    client.subscribe(
      topics,
      listParam(req.query, 'engines'),
      listParam(req.query, 'namespaces'),
      lastEventId === undefined ? undefined : Number(lastEventId),
    );
  }

  /** Ends every client (shutdown). */
  close(): void {
    for (const t of this.timers) clearInterval(t);
    for (const [client] of this.clients) client.close();
    for (const ws of this.wss.clients) ws.close(1001, 'server shutting down');
    this.clients.clear();
  }

  private serveWebSocket(ws: WebSocket): void {
    let alive = true;
    const client = new FeedClient(
      this.hub,
      {
        buffered: () => ws.bufferedAmount,
        send: (text) => ws.send(text),
        close: (reason) => {
          ws.close(1008, reason.slice(0, 120));
          // A peer that does not read will not read the close frame either.
          setTimeout(() => ws.terminate(), 1_000).unref();
        },
      },
      this.limits,
      this.counters,
    );
    this.clients.set(client, 'ws');
    (ws as WebSocket & { nerveAlive?: () => boolean }).nerveAlive = () => {
      const was = alive;
      alive = false;
      return was;
    };
    ws.on('pong', () => (alive = true));
    ws.on('close', () => this.drop(client));
    ws.on('error', () => this.drop(client));
    ws.on('message', (raw, isBinary) => {
      const error = (message: string) => client.control({ op: 'error', message });
      if (isBinary) return error('messages are JSON text');
      let msg: { op?: unknown; topics?: unknown; engines?: unknown; namespaces?: unknown; since?: unknown };
      try {
        msg = JSON.parse(String(raw)) as typeof msg;
      } catch {
        return error('message is not JSON');
      }
      if (msg.op === 'ping') return client.control({ op: 'pong', lastId: this.hub.lastId });
      if (msg.op !== 'subscribe' && msg.op !== 'unsubscribe')
        return error(
          `unknown op ${JSON.stringify(msg.op)?.slice(0, 32)}; known: subscribe, unsubscribe, ping`,
        );
      const topics = parseTopics(msg.topics);
      if (typeof topics === 'string') return error(topics);
      if (msg.op === 'unsubscribe') return client.unsubscribeTopics(topics);
      const engines = parseNames(msg.engines, 'engines');
      const namespaces = parseNames(msg.namespaces, 'namespaces');
      if (typeof engines === 'string') return error(engines);
      if (typeof namespaces === 'string') return error(namespaces);
      if (
        msg.since !== undefined &&
        (typeof msg.since !== 'number' || !Number.isInteger(msg.since) || msg.since < 0)
      )
        return error('since must be an event id');
      const recent = (msg as { recent?: unknown }).recent;
      if (
        recent !== undefined &&
        (typeof recent !== 'number' || !Number.isInteger(recent) || recent < 0 || recent > 1_000)
      )
        return error('recent must be a whole number of events from 0 to 1000');
      client.subscribe(
        topics,
        engines,
        namespaces,
        msg.since as number | undefined,
        (recent as number | undefined) ?? 0,
      );
    });
  }

  private drop(client: FeedClient): void {
    client.close();
    this.clients.delete(client);
  }

  private tick(): void {
    for (const client of this.clients.keys()) client.tick();
  }

  private heartbeat(): void {
    const beat = { op: 'heartbeat', at: new Date().toISOString(), lastId: this.hub.lastId };
    for (const client of this.clients.keys()) client.control(beat);
    for (const ws of this.wss.clients) {
      const check = (ws as WebSocket & { nerveAlive?: () => boolean }).nerveAlive;
      if (check && !check()) {
        this.logger.debug('feed client missed a heartbeat; dropped');
        ws.terminate();
      } else ws.ping();
    }
  }

  private register(registry: Registry): void {
    const clients = this.clients;
    const counters = this.counters;
    const hub = this.hub;
    new Gauge({
      name: 'nerve_feed_clients',
      help: 'Live-feed clients connected to this replica, by transport',
      labelNames: ['transport'],
      registers: [registry],
      collect() {
        let ws = 0;
        for (const t of clients.values()) if (t === 'ws') ws++;
        this.set({ transport: 'websocket' }, ws);
        this.set({ transport: 'sse' }, clients.size - ws);
      },
    });
    new Counter({
      name: 'nerve_feed_messages_total',
      help: 'Live-feed messages published, by topic',
      labelNames: ['topic'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [topic, n] of hub.published) this.inc({ topic }, n);
      },
    });
    new Counter({
      name: 'nerve_feed_coalesced_total',
      help: 'Live-feed messages replaced by a newer one of the same topic and engine for a slow client',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(counters.coalesced);
      },
    });
    new Counter({
      name: 'nerve_feed_slow_closed_total',
      help: 'Live-feed clients closed for not reading',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(counters.closedSlow);
      },
    });
  }
}

/** Whether a principal may still hold a feed subscription. */
const viewerMay = (p: Principal): boolean => allows(p.role, 'viewer');
