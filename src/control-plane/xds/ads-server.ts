import { OVERRIDE_TTL_DEFAULTS } from '../../config/xds-settings';
import { type Authenticator, OPEN } from '../../security/authenticator';
import type { Logger } from 'winston';
import {
  adsServiceDefinition,
  type DeltaDiscoveryRequest,
  type DeltaDiscoveryResponse,
  type DiscoveryRequest,
  type DiscoveryResponse,
  type Node,
} from '../../protocol/ads';
import { H2GrpcCall, type MessageCodec } from '../../protocol/grpc-h2/grpc-call';
import type { NativeMethod } from '../../protocol/grpc-h2/grpc-front-door';
import { writeThrough } from '../../protocol/h2/read-turn';
import type { XdsServing } from '../context/plane-options';
import {
  type AdsServerHooks,
  AdsSession,
  type Connection,
  type ProtocolFactory,
  type SessionHost,
} from './ads-session';
import { DeltaStream } from './delta-stream';
import { FirstResponses } from './first-responses';
import { PushFanout } from './push-fanout';
import { decodeDiscoveryRequest } from './request-decoding';
import { discoveryResponseParts, encodeDiscoveryResponse } from './response-encoding';
import type { SnapshotCache } from './snapshot-cache';
import { SotwStream } from './sotw-stream';
import type { StreamStatus } from './stream-state';

export type { AdsServerHooks } from './ads-session';

/** Requests are small (a NACK's error detail is the longest part): gRPC's default limit. */
const DEFAULT_MAX_REQUEST_BYTES = 4 << 20;

/** Storm control's defaults (the README's xDS section explains each). */
export const DEFAULT_XDS_SERVING: XdsServing = {
  firstResponses: 100,
  firstResponseHoldMs: 5_000,
  requestsPerSecond: 100,
  requestBurst: 1_000,
  pushSliceMs: 4,
  ...OVERRIDE_TTL_DEFAULTS,
};

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
  /** What each stream's session uses of this server. */
  private readonly host: SessionHost;

  constructor(
    private readonly cache: SnapshotCache,
    logger: Logger,
    private readonly controlPlaneId: string,
    private readonly hooks: AdsServerHooks = {},
    auth: Authenticator = OPEN,
    readonly storm: XdsServing = DEFAULT_XDS_SERVING,
  ) {
    this.firstResponses = new FirstResponses(storm.firstResponses, storm.firstResponseHoldMs);
    this.host = {
      cache,
      logger,
      hooks,
      auth,
      storm,
      firstResponses: this.firstResponses,
      opened: (c) => {
        this.connections.add(c);
        if (c.ttl) this.ttlStreamOpened();
      },
      closed: (c) => {
        if (!this.connections.delete(c)) return;
        if (c.ttl) this.ttlStreamClosed();
        hooks.onStreamClose?.(c.nodeId, c.delta);
      },
      anonymousId: () => `anonymous-${++this.nextAnonymous}`,
    };
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
          new AdsSession(this.host, call, delta, create).start();
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

  /** A push to the streams is under way (streams not reached yet). */
  get pushing(): boolean {
    return this.fanout.pending > 0;
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
}
