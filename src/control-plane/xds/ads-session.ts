import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'winston';
import { echo } from '../../model/echo';
import type { Snapshot } from '../../model/snapshot';
import type { Node } from '../../protocol/ads';
import type { H2GrpcCall } from '../../protocol/grpc-h2/grpc-call';
import { SUPPORTS_RESOURCE_TTL } from '../../protocol/type-urls';
import type { Authenticator } from '../../security/authenticator';
import { grpcPeer } from '../../security/grpc-credentials';
import { admitStream } from '../../security/stream-admission';
import type { XdsServing } from '../context/plane-options';
import type { FirstResponses } from './first-responses';
import { RequestBudget } from './request-budget';
import type { SnapshotCache } from './snapshot-cache';
import { XdsProtocolError } from './sotw-stream';
import type { TypeStatus } from './stream-state';

/** What the server needs of a per-stream protocol state machine (state of the world or delta). */
export interface StreamProtocol<Req> {
  handleRequest(request: Req, snapshot: Snapshot): void;
  onSnapshot(snapshot: Snapshot): void;
  /** Refreshes the TTL of what the client holds (clients that support resource TTLs). */
  heartbeat(): void;
  status(): TypeStatus[];
  inSync(): boolean;
}

export type ProtocolFactory<Req, Res> = (
  send: (response: Res) => void,
  onNack: (typeUrl: string, version: string, error: string) => void,
  ttl: boolean,
) => StreamProtocol<Req>;

/** A stream as the server's registry holds it once its node is known. */
export interface Connection {
  readonly call: { end(): void };
  readonly nodeId: string;
  readonly peer: string;
  readonly connectedAtMs: number;
  readonly protocol: {
    status(): TypeStatus[];
    inSync(): boolean;
    onSnapshot(snapshot: Snapshot): void;
    heartbeat(): void;
  };
  readonly delta: boolean;
  /** The client supports resource TTLs: it gets heartbeats. */
  readonly ttl: boolean;
  /** A heartbeat is being sent: what goes out now is counted as one, not as a push. */
  beating: boolean;
}

/** Callbacks for metrics (go-control-plane's Callbacks, in spirit): the server imports no metrics. */
export interface AdsServerHooks {
  onNack?(nodeId: string, typeUrl: string, version: string, error: string): void;
  onAck?(typeUrl: string, version: string): void;
  onPush?(typeUrl: string, version: string, delta: boolean): void;
  /** A heartbeat refreshed the TTL of what a client holds of the type. */
  onHeartbeat?(typeUrl: string): void;
  onStreamOpen?(nodeId: string, delta: boolean): void;
  onStreamClose?(nodeId: string, delta: boolean): void;
  /**
   * Why this replica must not serve data planes now (it holds no configuration to give), or undefined.
   * A refused stream ends with UNAVAILABLE before any response, so the client keeps its last
   * configuration or moves to another replica rather than taking an empty one.
   */
  refuse?(): string | undefined;
}

/** What a stream needs of its server: the served snapshot, storm control, the registry. */
export interface SessionHost {
  readonly cache: SnapshotCache;
  readonly logger: Logger;
  readonly hooks: AdsServerHooks;
  readonly auth: Authenticator;
  readonly storm: XdsServing;
  readonly firstResponses: FirstResponses;
  /** The stream's node is known: it joins the registry (pushes, heartbeats, status). */
  opened(c: Connection): void;
  /** The stream is gone (called once, registered or not). */
  closed(c: Connection): void;
  /** A name for a client that gave no node id. */
  anonymousId(): string;
}

/** Requests a stream may have waiting for its budget before it is closed (its window bounds it long before). */
const MAX_QUEUED_REQUESTS = 10_000;

/** Shared by every stream (each would otherwise hold its own copy of both). */
const nodeIdOf = (r: { node: Node | null }): string => r.node?.id ?? '';
const XDS_ADMISSION = { what: 'xDS', adminMaySubscribe: true } as const;

/**
 * One ADS stream's life: admission, storm control's queue and request budget, its protocol, its place
 * in the registry. One object per stream, its callbacks fields of it, rather than a closure and a
 * context for each (a fleet holds tens of thousands of streams for hours).
 */
export class AdsSession<
  Req extends { node: Node | null; response_nonce: string },
  Res,
> implements Connection {
  nodeId = '';
  peer = '';
  connectedAtMs = 0;
  ttl = false;
  beating = false;
  protocol!: StreamProtocol<Req>;
  private shownId = '';
  private started = false;
  private ended = false;
  /**
   * Storm control: requests wait for the stream's first-response place, then go at the stream's budget.
   * Made when one has to wait (a stream within its budget never holds a queue).
   */
  private pending: Req[] | undefined;
  private releaseFirst: (() => void) | undefined;
  private admitted = false;
  private answered = false;
  private responses = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly budget: RequestBudget;

  constructor(
    private readonly host: SessionHost,
    readonly call: H2GrpcCall<Req, Res>,
    readonly delta: boolean,
    private readonly create: ProtocolFactory<Req, Res>,
  ) {
    this.budget = new RequestBudget(host.storm.requestsPerSecond, host.storm.requestBurst);
  }

  start(): void {
    const refusal = this.host.hooks.refuse?.();
    if (refusal !== undefined) {
      this.call.on('error', () => undefined);
      this.call.emit('error', { code: grpc.status.UNAVAILABLE, details: refusal });
      return;
    }
    admitStream(this.call, this.host.auth, nodeIdOf, XDS_ADMISSION, this.onRequest, this.sendHeaders);
    this.call.on('end', this.onEnd);
    this.call.on('error', this.close);
    this.call.on('cancelled', this.close);
    this.call.on('close', this.close);
  }

  private readonly onRequest = (request: Req): void => {
    if (this.ended) return;
    if (this.pending === undefined && this.timer === undefined && this.admitted && this.budget.take() === 0) {
      this.handleOrFail(request); // nothing waits before it and the budget has room: at once
      return;
    }
    const pending = (this.pending ??= []);
    if (pending.push(request) > MAX_QUEUED_REQUESTS) {
      this.fail(
        grpc.status.RESOURCE_EXHAUSTED,
        `more than ${MAX_QUEUED_REQUESTS} requests waiting on this stream (budget ${this.host.storm.requestsPerSecond} a second)`,
      );
      return;
    }
    if (this.timer === undefined && pending.length === 1) this.drain();
  };

  /** Headers once admitted: a client that already holds the served versions is pushed nothing, and still learns that the stream is up. */
  private readonly sendHeaders = (): void => this.call.sendMetadata(new grpc.Metadata());

  private readonly onEnd = (): void => {
    this.close();
    this.call.end();
  };

  private readonly close = (): void => {
    if (this.ended) return;
    this.ended = true;
    this.pending = undefined;
    clearTimeout(this.timer);
    this.releaseFirst?.();
    this.host.closed(this);
  };

  private readonly admit = (): void => {
    this.admitted = true;
    this.drain();
  };

  private readonly drain = (): void => {
    this.timer = undefined;
    if (this.ended) return;
    if (!this.admitted) {
      this.releaseFirst ??= this.host.firstResponses.enter(this.admit);
      return;
    }
    let pending: Req[] | undefined;
    while ((pending = this.pending) !== undefined && !this.ended) {
      const wait = this.budget.take();
      if (wait > 0) {
        this.call.pause(); // its window closes: a client past its budget slows itself down
        this.timer = setTimeout(this.drain, wait);
        return;
      }
      const request = pending.shift()!;
      if (pending.length === 0) this.pending = undefined;
      if (!this.handleOrFail(request)) return;
    }
    this.call.resume();
  };

  /** Handles a request; false when it ended the stream (a protocol error, or a bug: INTERNAL). */
  private handleOrFail(request: Req): boolean {
    try {
      this.handle(request);
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.fail(
        err instanceof XdsProtocolError ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL,
        message,
      );
      return false;
    }
  }

  private readonly send = (response: Res): void => {
    const r = response as { type_url?: string; version_info?: string; system_version_info?: string };
    const hooks = this.host.hooks;
    if (this.beating) hooks.onHeartbeat?.(r.type_url ?? '');
    else hooks.onPush?.(r.type_url ?? '', r.version_info ?? r.system_version_info ?? '', this.delta);
    this.responses++;
    this.call.write(response);
  };

  private readonly nack = (typeUrl: string, version: string, error: string): void => {
    this.host.logger.warn('xDS NACK', {
      nodeId: this.shownId,
      typeUrl,
      version,
      error: error.length > 1024 ? echo(error, 1024) : error,
    });
    this.host.hooks.onNack?.(this.nodeId, typeUrl, version, error);
  };

  private fail(code: grpc.status, message: string): void {
    const nodeId = this.nodeId;
    this.host.logger.warn('closing xDS stream', {
      nodeId: nodeId.length > 128 ? echo(nodeId) : nodeId,
      error: message.length > 1024 ? echo(message, 1024) : message,
    });
    this.close();
    this.call.emit('error', { code, details: message });
  }

  private handle(request: Req): void {
    if (!this.started) {
      this.started = true;
      const nodeId = request.node?.id || this.host.anonymousId();
      this.nodeId = nodeId;
      // What a client chose is cut in log lines (a 100 KB node id, a NACK's whole error detail).
      this.shownId = nodeId.length > 128 ? echo(nodeId) : nodeId;
      this.ttl = request.node?.client_features?.includes(SUPPORTS_RESOURCE_TTL) === true;
      this.protocol = this.create(this.send, this.nack, this.ttl);
      this.peer = grpcPeer(this.call);
      this.connectedAtMs = Date.now();
      this.host.opened(this);
      this.host.logger.info('xDS stream opened', {
        nodeId: this.shownId,
        peer: this.peer,
        delta: this.delta,
      });
      this.host.hooks.onStreamOpen?.(nodeId, this.delta);
    }
    const before = this.responses;
    this.protocol.handleRequest(request, this.host.cache.snapshot);
    // The first-response place goes back once the client answered a response, or at once when the
    // first request needed none (a client that reconnected holding what is served).
    if (!this.answered && (request.response_nonce !== '' || this.responses === before)) {
      this.answered = true;
      this.releaseFirst?.();
      this.releaseFirst = undefined; // given back: the stream need not hold it for its life
    }
  }
}
