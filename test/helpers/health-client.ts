import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { HEALTH_PROTO } from '../../src/protocol/proto-paths';

export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

export interface HealthClient extends grpc.Client {
  Check(
    request: { service: string },
    options: grpc.CallOptions,
    callback: (err: grpc.ServiceError | null, response?: { status: ServingStatus }) => void,
  ): grpc.ClientUnaryCall;
}

let ctor: grpc.ServiceClientConstructor | undefined;

/** A grpc.health.v1.Health client for one address. */
export function createHealthClient(address: string, options: grpc.ChannelOptions = {}): HealthClient {
  if (!ctor) {
    const pkg = protoLoader.loadSync(HEALTH_PROTO, { keepCase: true, enums: String, defaults: true });
    ctor = grpc.makeGenericClientConstructor(
      pkg['grpc.health.v1.Health'] as grpc.ServiceDefinition,
      'Health',
    );
  }
  return new ctor(address, grpc.credentials.createInsecure(), options) as unknown as HealthClient;
}
