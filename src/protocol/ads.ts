import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ENVOY_INCLUDE_DIRS } from './proto-paths';

/** The shapes of Envoy's discovery messages as proto-loader hands them over (keepCase, defaults). */
export interface Any {
  type_url: string;
  value: Buffer | Uint8Array;
}

export interface Node {
  id: string;
  cluster: string;
  user_agent_name?: string;
  user_agent_version?: string;
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
  resource: Any;
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
export const ADS_PROTO = 'envoy/service/discovery/v3/ads.proto';

export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: ENVOY_INCLUDE_DIRS,
};

let cached: protoLoader.PackageDefinition | undefined;

/** Envoy's ADS package definition, loaded once per process. */
export function adsPackageDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(ADS_PROTO, LOADER_OPTIONS);
  return cached;
}

export function adsServiceDefinition(): grpc.ServiceDefinition {
  return adsPackageDefinition()[ADS_SERVICE] as grpc.ServiceDefinition;
}

export type AdsStream = grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse>;
export type DeltaAdsStream = grpc.ClientDuplexStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>;

interface AdsClient extends grpc.Client {
  StreamAggregatedResources(options?: grpc.CallOptions): AdsStream;
  DeltaAggregatedResources(options?: grpc.CallOptions): DeltaAdsStream;
}

/** An ADS client. grpc-js shares a connection between clients with equal options; pass distinct options to get another. */
export function createAdsClient(
  address: string,
  credentials = grpc.credentials.createInsecure(),
  options: grpc.ChannelOptions = {},
): AdsClient {
  const Ctor = grpc.makeGenericClientConstructor(adsServiceDefinition(), 'AggregatedDiscoveryService');
  return new Ctor(address, credentials, options) as unknown as AdsClient;
}
