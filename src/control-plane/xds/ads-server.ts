import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'winston';
import { adsServiceDefinition, type DiscoveryRequest, type DiscoveryResponse } from '../../protocol/ads';
import type { SnapshotCache } from './snapshot-cache';
import { SotwStream, XdsProtocolError } from './sotw-stream';
import type { StreamStatus } from './stream-state';

type AdsCall = grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>;

interface Connection {
  readonly call: AdsCall;
  readonly nodeId: string;
  readonly peer: string;
  readonly connectedAtMs: number;
  readonly protocol: SotwStream;
}

export interface AdsServerHooks {
  onNack?(nodeId: string, typeUrl: string, version: string, error: string): void;
  onStreamOpen?(nodeId: string): void;
  onStreamClose?(nodeId: string): void;
}

/**
 * envoy.service.discovery.v3.AggregatedDiscoveryService over the snapshot cache. Each stream runs its own
 * SotwStream; this class only carries bytes and keeps the registry of connected clients.
 */
export class AdsServer {
  private readonly connections = new Set<Connection>();
  private nextAnonymous = 0;

  constructor(
    private readonly cache: SnapshotCache,
    private readonly logger: Logger,
    private readonly controlPlaneId: string,
    private readonly hooks: AdsServerHooks = {},
  ) {}

  addToServer(server: grpc.Server): void {
    server.addService(adsServiceDefinition(), {
      StreamAggregatedResources: (call: AdsCall) => this.handleStream(call),
    });
  }

  clients(): StreamStatus[] {
    return [...this.connections].map((c) => ({
      nodeId: c.nodeId,
      peer: c.peer,
      connectedAtMs: c.connectedAtMs,
      types: c.protocol.status(),
    }));
  }

  /** Ends every stream with OK; clients reconnect (to this replica or another). */
  closeAll(): void {
    for (const c of this.connections) c.call.end();
  }

  private handleStream(call: AdsCall): void {
    let connection: Connection | undefined;
    let unwatch: (() => void) | undefined;
    const close = () => {
      unwatch?.();
      if (connection && this.connections.delete(connection)) this.hooks.onStreamClose?.(connection.nodeId);
    };
    call.on('data', (request: DiscoveryRequest) => {
      try {
        if (!connection) {
          const nodeId = request.node?.id || `anonymous-${++this.nextAnonymous}`;
          const protocol = new SotwStream({
            send: (response) => call.write(response),
            now: Date.now,
            controlPlaneId: this.controlPlaneId,
            onNack: (typeUrl, version, error) => {
              this.logger.warn('xDS NACK', { nodeId, typeUrl, version, error });
              this.hooks.onNack?.(nodeId, typeUrl, version, error);
            },
          });
          connection = { call, nodeId, peer: call.getPeer(), connectedAtMs: Date.now(), protocol };
          this.connections.add(connection);
          unwatch = this.cache.watch((snapshot) => protocol.onSnapshot(snapshot));
          this.logger.info('xDS stream opened', { nodeId, peer: connection.peer });
          this.hooks.onStreamOpen?.(nodeId);
        }
        connection.protocol.handleRequest(request, this.cache.snapshot);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const code = err instanceof XdsProtocolError ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL;
        this.logger.warn('closing xDS stream', { nodeId: connection?.nodeId, error: message });
        close();
        call.emit('error', { code, details: message });
      }
    });
    call.on('end', () => {
      close();
      call.end();
    });
    call.on('error', close);
    call.on('cancelled', close);
    call.on('close', close);
  }
}
