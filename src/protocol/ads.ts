import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ENVOY_INCLUDE_DIRS } from './proto-paths';

/** The shapes of Envoy's discovery messages as proto-loader hands them over (keepCase, defaults). */
export * from './ads-types';
import { ADS_SERVICE, type AdsStream, type DeltaAdsStream } from './ads-types';

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
