import '@grpc/proto-loader'; // registers google/protobuf/descriptor.proto as a protobufjs common type
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { ENVOY_INCLUDE_DIRS } from '../../../protocol/proto-paths';
import { TYPE_PREFIX } from '../../../protocol/type-urls';

/** A JSON-shaped Envoy message (proto field names, enums as names, wrappers as {value}). */
export type EnvoyObject = { [field: string]: unknown };

const FILES = [
  'envoy/config/listener/v3/listener.proto',
  'envoy/config/route/v3/route.proto',
  'envoy/config/cluster/v3/cluster.proto',
  'envoy/config/endpoint/v3/endpoint.proto',
  'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
  'envoy/extensions/filters/http/router/v3/router.proto',
  'envoy/extensions/upstreams/http/v3/http_protocol_options.proto',
  'envoy/extensions/load_balancing_policies/ring_hash/v3/ring_hash.proto',
  'envoy/extensions/load_balancing_policies/round_robin/v3/round_robin.proto',
  'envoy/extensions/load_balancing_policies/least_request/v3/least_request.proto',
  'envoy/extensions/load_balancing_policies/random/v3/random.proto',
  'envoy/service/load_stats/v3/lrs.proto',
];

let root: protobuf.Root | undefined;

/** Envoy's message types, loaded once from the pinned proto tree (about 100 ms). */
function envoyRoot(): protobuf.Root {
  if (root) return root;
  const r = new protobuf.Root();
  r.resolvePath = (origin, target) => {
    for (const dir of ENVOY_INCLUDE_DIRS) {
      const candidate = join(dir, target);
      if (existsSync(candidate)) return candidate;
    }
    return protobuf.util.path.resolve(origin, target);
  };
  r.loadSync(FILES, { keepCase: true });
  r.resolveAll();
  root = r;
  return r;
}

export function encodeEnvoy(typeName: string, message: EnvoyObject): Uint8Array {
  const type = envoyRoot().lookupType(typeName);
  return type.encode(type.fromObject(message)).finish();
}

export function decodeEnvoy(typeName: string, bytes: Uint8Array): EnvoyObject {
  const type = envoyRoot().lookupType(typeName);
  return type.toObject(type.decode(bytes), { enums: String, longs: Number, defaults: false }) as EnvoyObject;
}

/** A google.protobuf.Any holding an Envoy message. */
export function anyOf(typeName: string, message: EnvoyObject): { type_url: string; value: Buffer } {
  return { type_url: `${TYPE_PREFIX}${typeName}`, value: Buffer.from(encodeEnvoy(typeName, message)) };
}

export function duration(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
