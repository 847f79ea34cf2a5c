import type * as grpc from '@grpc/grpc-js';

/*
 * ADS messages in proto-loader's shape (keepCase), and the service name: what both sides of ADS share.
 * No run-time dependencies, so a router can use them without loading Envoy's proto tree.
 */

export interface Any {
  type_url: string;
  value: Buffer | Uint8Array;
}

export interface Node {
  id: string;
  cluster: string;
  user_agent_name?: string;
  user_agent_version?: string;
  /** What the client supports (`envoy.lb.does_not_support_overprovisioning`, `xds.config.supports-resource-ttl`…). */
  client_features?: string[];
}

export interface Status {
  code: number;
  message: string;
}

export interface DiscoveryRequest {
  version_info: string;
  node: Node | null;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail: Status | null;
}

export interface DiscoveryResponse {
  version_info: string;
  resources: Any[];
  type_url: string;
  nonce: string;
  control_plane?: { identifier: string };
}

export interface DeltaDiscoveryRequest {
  node: Node | null;
  type_url: string;
  resource_names_subscribe: string[];
  resource_names_unsubscribe: string[];
  initial_resource_versions: Record<string, string>;
  response_nonce: string;
  error_detail: Status | null;
}

export interface DeltaResource {
  name: string;
  version: string;
  /** Absent in a heartbeat (a TTL refresh of the version the client holds). */
  resource?: Any;
  /** google.protobuf.Duration: the resource expires on the client unless refreshed within it. */
  ttl?: { seconds: number; nanos: number };
}

export interface DeltaDiscoveryResponse {
  system_version_info: string;
  resources: DeltaResource[];
  type_url: string;
  removed_resources: string[];
  nonce: string;
  control_plane?: { identifier: string };
}

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';

export type AdsStream = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
export type DeltaAdsStream = grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;
