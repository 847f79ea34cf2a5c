import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ReflectionService } from '@grpc/reflection';
import { dirname } from 'node:path';
import { ADS_PROTO } from '../protocol/ads';
import { ENVOY_INCLUDE_DIRS, HEALTH_PROTO, NERVE_PROTO_DIR } from '../protocol/proto-paths';

/** Server reflection for every service on the control plane's port, so grpcurl needs no proto files. */
export function addReflection(server: grpc.Server): void {
  const healthRoot = dirname(dirname(dirname(HEALTH_PROTO)));
  const definition = protoLoader.loadSync(
    [
      'nerve/admin/v1/admin.proto',
      'nerve/engine/v1/engine.proto',
      'nerve/report/v1/report_service.proto',
      'nerve/discovery/v1/resources.proto',
      ADS_PROTO,
      'envoy/service/load_stats/v3/lrs.proto',
      'health/v1/health.proto',
    ],
    { includeDirs: [NERVE_PROTO_DIR, healthRoot, ...ENVOY_INCLUDE_DIRS] },
  );
  new ReflectionService(definition).addToServer(server);
}
