import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { NerveError } from '../../model/errors';
import type { Snapshot } from '../../model/snapshot';
import { LOADER_OPTIONS } from '../../protocol/ads';
import { type Authenticator, authenticateOpen, authorize } from '../../security/authenticator';
import { grpcCredentials, grpcPeer } from '../../security/grpc-credentials';
import { type ClientStatusRequest, clientStatus } from './client-status';
import type { StreamStatus } from './stream-state';

export const CSDS_SERVICE = 'envoy.service.status.v3.ClientStatusDiscoveryService';
const CSDS_PROTO = 'envoy/service/status/v3/csds.proto';

const STATUS: Partial<Record<NerveError['code'], grpc.status>> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
};

function statusOf(err: unknown): { code: grpc.status; details: string } {
  const e = err instanceof NerveError ? err : new NerveError('UNAUTHENTICATED', String(err));
  return { code: STATUS[e.code] ?? grpc.status.UNAUTHENTICATED, details: e.message };
}

/**
 * CSDS beside ADS on the control plane's port, both methods: what each client of this replica holds,
 * per type and resource (client-status.ts). With authentication on it takes the role `viewer`, as
 * `GET /xds/clients` does: resource contents are the fleet's configuration.
 */
export function addCsds(
  server: grpc.Server,
  auth: Authenticator,
  clients: () => readonly StreamStatus[],
  snapshot: () => Snapshot,
): void {
  const definition = protoLoader.loadSync(CSDS_PROTO, LOADER_OPTIONS)[CSDS_SERVICE] as grpc.ServiceDefinition;
  const admit = (call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>) =>
    auth.enabled
      ? authenticateOpen(auth, grpcCredentials(call), grpcPeer(call).replace(/:\d+$/, '')).then((p) =>
          authorize(p, 'viewer', 'CSDS'),
        )
      : Promise.resolve();
  const answer = (request: ClientStatusRequest) => clientStatus(request, clients(), snapshot());
  server.addService(definition, {
    FetchClientStatus: (
      call: grpc.ServerUnaryCall<ClientStatusRequest, unknown>,
      callback: grpc.sendUnaryData<unknown>,
    ) => {
      admit(call)
        .then(() => callback(null, answer(call.request)))
        .catch((err: unknown) => callback(statusOf(err)));
    },
    StreamClientStatus: (call: grpc.ServerDuplexStream<ClientStatusRequest, unknown>) => {
      call.on('error', () => undefined);
      const admitted = admit(call);
      admitted.catch((err: unknown) => call.emit('error', statusOf(err)));
      call.on('data', (request: ClientStatusRequest) => {
        admitted.then(
          () => {
            try {
              call.write(answer(request));
            } catch (err) {
              call.emit('error', statusOf(err));
            }
          },
          () => undefined,
        );
      });
      call.on('end', () => call.end());
    },
  });
}
