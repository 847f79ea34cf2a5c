import { grpcPeer } from '../../security/grpc-credentials';
import { OVERRIDE_TTL_DEFAULTS } from '../../config/xds-settings';
import * as grpc from '@grpc/grpc-js';
import { admitStream } from '../../security/stream-admission';
import { type Authenticator, OPEN } from '../../security/authenticator';
import { echo } from '../../model/echo';
import type { Logger } from 'winston';
import type { Snapshot } from '../../model/snapshot';
import {
  adsServiceDefinition,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
  type Node,
} from '../../protocol/ads';
import { SUPPORTS_RESOURCE_TTL } from '../../protocol/type-urls';
import { H2GrpcCall, type MessageCodec } from '../../protocol/grpc-h2/grpc-call';
import type { NativeMethod } from '../../protocol/grpc-h2/grpc-front-door';
import type { XdsServing } from '../context/plane-options';
import { DeltaStream } from './delta-stream';
import { FirstResponses } from './first-responses';
import { PushFanout } from './push-fanout';
import { writeThrough } from '../../protocol/h2/read-turn';
import { RequestBudget } from './request-budget';
import { decodeDiscoveryRequest } from './request-decoding';
import { discoveryResponseParts, encodeDiscoveryResponse } from './response-encoding';
import type { SnapshotCache } from './snapshot-cache';
import { SotwStream, XdsProtocolError } from './sotw-stream';
import type { StreamStatus, TypeStatus } from './stream-state';

/** What the server needs of a per-stream protocol state machine (state of the world or delta). */
interface StreamProtocol<Req> {
  handleRequest(request: Req, snapshot: Snapshot): void;
  onSnapshot(snapshot: Snapshot): void;
  /** Refreshes the TTL of what the client holds (clients that support resource TTLs). */
  heartbeat(): void;
  status(): TypeStatus[];
  inSync(): boolean;
}

/** Shared by every stream (each would otherwise hold its own copy of both). */
const nodeIdOf = (r: { node: Node | null }): string => r.node?.id ?? '';
const XDS_ADMISSION = { what: 'xDS', adminMaySubscribe: true } as const;

/** Requests are small (a NACK's error detail is the longest part): gRPC's default limit. */
const DEFAULT_MAX_REQUEST_BYTES = 4 << 20;

/** Requests a stream may have waiting for its budget before it is closed (its window bounds it long before). */
const MAX_QUEUED_REQUESTS = 10_000;

/** Storm control's defaults (the README's xDS section explains each). */
export const DEFAULT_XDS_SERVING: XdsServing = {
  firstResponses: 100,
  firstResponseHoldMs: 5_000,
  requestsPerSecond: 100,
  requestBurst: 1_000,
  pushSliceMs: 4,
  ...OVERRIDE_TTL_DEFAULTS,
};

interface Connection {
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

type ProtocolFactory<Req, Res> = (
  send: (response: Res) => void,
  onNack: (typeUrl: string, version: string, error: string) => void,
  ttl: boolean,
) => StreamProtocol<Req>;

/**
 * envoy.service.discovery.v3.AggregatedDiscoveryService over the snapshot cache, state of the world and
 * delta. Each stream runs its own protocol state machine; this class only carries messages and keeps the
 * registry of connected clients.
 */
export class AdsServer {
  private readonly connections = new Set<Connection>();
  private nextAnonymous = 0;
  private readonly fanout: PushFanout<Connection>;
  private readonly heartbeats: PushFanout<Connection>;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private ttlStreams = 0;
  private readonly firstResponses: FirstResponses;

  constructor(
    private readonly cache: SnapshotCache,
    private readonly logger: Logger,
    private readonly controlPlaneId: string,
    private readonly hooks: AdsServerHooks = {},
    private readonly auth: Authenticator = OPEN,
    readonly storm: XdsServing = DEFAULT_XDS_SERVING,
  ) {
    this.firstResponses = new FirstResponses(storm.firstResponses, storm.firstResponseHoldMs);
    // Streams closed since the pass began are skipped; the newest snapshot is what every stream gets.
    // Each push is written at once, so a slice's time includes its writes (the larger part of a push).
    const push = (c: Connection) => c.protocol.onSnapshot(this.cache.snapshot);
    this.fanout = new PushFanout((c) => {
      if (this.connections.has(c)) writeThrough(push, c);
    }, storm.pushSliceMs);
    cache.watch(() => this.fanout.pushAll(this.connections));
    const beat = (c: Connection) => {
      c.beating = true;
      try {
        c.protocol.heartbeat();
      } finally {
        c.beating = false;
      }
    };
    this.heartbeats = new PushFanout((c) => {
      if (this.connections.has(c)) writeThrough(beat, c);
    }, storm.pushSliceMs);
  }

  /** Heartbeats run while some stream supports resource TTLs, each `heartbeatMs`, in push slices. */
  private ttlStreamOpened(): void {
    if (this.ttlStreams++ > 0) return;
    this.heartbeatTimer = setInterval(() => {
      const ttl: Connection[] = [];
      for (const c of this.connections) if (c.ttl) ttl.push(c);
      this.heartbeats.pushAll(ttl);
    }, this.storm.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  private ttlStreamClosed(): void {
    if (--this.ttlStreams === 0) clearInterval(this.heartbeatTimer);
  }

  /** Streams waiting for their first response, and those whose first response is out (storm control). */
  firstResponseQueue(): { waiting: number; inFlight: number } {
    return { waiting: this.firstResponses.queued, inFlight: this.firstResponses.active };
  }

  /**
   * Both ADS methods, served on our own HTTP/2 layer (the control plane's front door): a stream costs
   * what our connection and the protocol state cost, not node:http2's session and grpc-js's call.
   */
  methods(maxMessageBytes = DEFAULT_MAX_REQUEST_BYTES): Map<string, NativeMethod> {
    const options = (
      send: (r: never) => void,
      onNack: (t: string, v: string, e: string) => void,
      ttl: boolean,
    ) => ({
      send,
      now: Date.now,
      controlPlaneId: this.controlPlaneId,
      onNack,
      onAck: this.hooks.onAck,
      ttl,
    });
    const definition = adsServiceDefinition();
    const method = <Req extends { node: Node | null; response_nonce: string }, Res>(
      name: string,
      delta: boolean,
      create: ProtocolFactory<Req, Res>,
      hand?: MessageCodec<Req, Res>,
    ): [string, NativeMethod] => {
      const m = definition[name];
      const codec: MessageCodec<Req, Res> = hand ?? {
        decode: (bytes) => m.requestDeserialize(bytes) as Req,
        encode: (message) => m.responseSerialize(message),
      };
      return [
        m.path,
        (stream, caller) => {
          const call = new H2GrpcCall<Req, Res>(
            stream,
            codec,
            caller.peer,
            caller.certificate,
            maxMessageBytes,
          );
          this.handleStream(call, delta, create);
          stream.attach(call);
        },
      ];
    };
    return new Map([
      method<DiscoveryRequest, DiscoveryResponse>(
        'StreamAggregatedResources',
        false,
        (send, onNack, ttl) => new SotwStream(options(send, onNack, ttl)),
        // State of the world is the fan-out path: both directions by hand (delta keeps protobuf.js).
        { decode: decodeDiscoveryRequest, encode: encodeDiscoveryResponse, frame: discoveryResponseParts },
      ),
      method<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(
        'DeltaAggregatedResources',
        true,
        (send, onNack, ttl) => new DeltaStream(options(send, onNack, ttl)),
      ),
    ]);
  }

  /** Whether every client holds and has ACKed what is served (clients()'s inSync, built for none). */
  allInSync(): boolean {
    for (const c of this.connections) if (!c.protocol.inSync()) return false;
    return true;
  }

  /** Streams open now. */
  get size(): number {
    return this.connections.size;
  }

  /** Streams open now, by protocol. */
  counts(): { sotw: number; delta: number } {
    let delta = 0;
    for (const c of this.connections) if (c.delta) delta++;
    return { sotw: this.connections.size - delta, delta };
  }

  clients(): StreamStatus[] {
    return [...this.connections].map((c) => ({
      nodeId: c.nodeId,
      peer: c.peer,
      connectedAtMs: c.connectedAtMs,
      ttl: c.ttl,
      types: c.protocol.status(),
    }));
  }

  /** Ends every stream with OK; clients reconnect (to this replica or another). */
  closeAll(): void {
    for (const c of this.connections) c.call.end();
  }

  private handleStream<Req extends { node: Node | null; response_nonce: string }, Res>(
    call: H2GrpcCall<Req, Res>,
    delta: boolean,
    create: ProtocolFactory<Req, Res>,
  ): void {
    const refusal = this.hooks.refuse?.();
    if (refusal !== undefined) {
      call.on('error', () => undefined);
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: refusal });
      return;
    }
    let connection: Connection | undefined;
    let protocol: StreamProtocol<Req> | undefined;
    let closed = false;
    // Storm control: requests wait for the stream's first-response place, then go at the stream's budget.
    const pending: Req[] = [];
    let releaseFirst: (() => void) | undefined;
    let admitted = false;
    let answered = false;
    let responses = 0;
    let timer: NodeJS.Timeout | undefined;
    const budget = new RequestBudget(this.storm.requestsPerSecond, this.storm.requestBurst);
    const close = () => {
      if (closed) return;
      closed = true;
      pending.length = 0;
      clearTimeout(timer);
      releaseFirst?.();
      if (connection && this.connections.delete(connection)) {
        if (connection.ttl) this.ttlStreamClosed();
        this.hooks.onStreamClose?.(connection.nodeId, delta);
      }
    };
    const fail = (code: grpc.status, message: string) => {
      const nodeId = connection?.nodeId ?? '';
      this.logger.warn('closing xDS stream', {
        nodeId: nodeId.length > 128 ? echo(nodeId) : nodeId,
        error: message.length > 1024 ? echo(message, 1024) : message,
      });
      close();
      call.emit('error', { code, details: message });
    };
    const handle = (request: Req) => {
      if (!protocol) {
        const nodeId = request.node?.id || `anonymous-${++this.nextAnonymous}`;
        // What a client chose is cut in log lines (a 100 KB node id, a NACK's whole error detail).
        const shownId = nodeId.length > 128 ? echo(nodeId) : nodeId;
        const ttl = request.node?.client_features?.includes(SUPPORTS_RESOURCE_TTL) === true;
        const p = create(
          (response) => {
            const r = response as { type_url?: string; version_info?: string; system_version_info?: string };
            if (connection!.beating) this.hooks.onHeartbeat?.(r.type_url ?? '');
            else this.hooks.onPush?.(r.type_url ?? '', r.version_info ?? r.system_version_info ?? '', delta);
            responses++;
            call.write(response);
          },
          (typeUrl, version, error) => {
            this.logger.warn('xDS NACK', {
              nodeId: shownId,
              typeUrl,
              version,
              error: error.length > 1024 ? echo(error, 1024) : error,
            });
            this.hooks.onNack?.(nodeId, typeUrl, version, error);
          },
          ttl,
        );
        protocol = p;
        connection = {
          call,
          nodeId,
          peer: grpcPeer(call),
          connectedAtMs: Date.now(),
          protocol: p,
          delta,
          ttl,
          beating: false,
        };
        this.connections.add(connection);
        if (ttl) this.ttlStreamOpened();
        this.logger.info('xDS stream opened', { nodeId: shownId, peer: connection.peer, delta });
        this.hooks.onStreamOpen?.(nodeId, delta);
      }
      const before = responses;
      protocol.handleRequest(request, this.cache.snapshot);
      // The first-response place goes back once the client answered a response, or at once when the
      // first request needed none (a client that reconnected holding what is served).
      if (!answered && (request.response_nonce !== '' || responses === before)) {
        answered = true;
        releaseFirst?.();
      }
    };
    const drain = () => {
      timer = undefined;
      if (closed) return;
      if (!admitted) {
        releaseFirst ??= this.firstResponses.enter(() => {
          admitted = true;
          drain();
        });
        return;
      }
      while (pending.length > 0 && !closed) {
        const wait = budget.take();
        if (wait > 0) {
          call.pause(); // its window closes: a client past its budget slows itself down
          timer = setTimeout(drain, wait);
          return;
        }
        try {
          handle(pending.shift()!);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          fail(
            err instanceof XdsProtocolError ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL,
            message,
          );
          return;
        }
      }
      call.resume();
    };
    admitStream(
      call,
      this.auth,
      nodeIdOf,
      XDS_ADMISSION,
      (request: Req) => {
        if (closed) return;
        if (pending.push(request) > MAX_QUEUED_REQUESTS) {
          fail(
            grpc.status.RESOURCE_EXHAUSTED,
            `more than ${MAX_QUEUED_REQUESTS} requests waiting on this stream (budget ${this.storm.requestsPerSecond} a second)`,
          );
          return;
        }
        if (timer === undefined && pending.length === 1) drain();
      },
      // Headers once admitted: a client that already holds the served versions is pushed nothing, and
      // still learns that the stream is up.
      () => call.sendMetadata(new grpc.Metadata()),
    );
    call.on('end', () => {
      close();
      call.end();
    });
    call.on('error', close);
    call.on('cancelled', close);
    call.on('close', close);
  }
}
