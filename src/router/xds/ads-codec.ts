import { BinaryReader, BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import {
  ADS_SERVICE,
  type Any,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from '../../protocol/ads-types';
import { GrpcBidiStream } from '../control/grpc-stream';
import type { Keepalive } from '../net/keepalive';
import type { ClientCredentials } from '../../security/tls-files';

/*
 * The router's side of ADS, state of the world only, encoded by hand: the few fields it sends and reads
 * of envoy.service.discovery.v3.DiscoveryRequest / DiscoveryResponse (field numbers from Envoy's
 * discovery.proto, base.proto and google/rpc/status.proto). Loading Envoy's proto tree at run time, as the
 * control plane does, costs a router about 12 MB of memory and a quarter of a second at start; it never
 * needs the rest. The e2e tests run this codec against the control plane's proto-loader one.
 */

export function encodeDiscoveryRequest(r: DiscoveryRequest): Uint8Array {
  const w = new BinaryWriter();
  if (r.version_info) w.uint32((1 << 3) | WireType.LengthDelimited).string(r.version_info);
  if (r.node) {
    w.uint32((2 << 3) | WireType.LengthDelimited).fork();
    if (r.node.id) w.uint32((1 << 3) | WireType.LengthDelimited).string(r.node.id);
    if (r.node.cluster) w.uint32((2 << 3) | WireType.LengthDelimited).string(r.node.cluster);
    if (r.node.user_agent_name) w.uint32((6 << 3) | WireType.LengthDelimited).string(r.node.user_agent_name);
    if (r.node.user_agent_version)
      w.uint32((7 << 3) | WireType.LengthDelimited).string(r.node.user_agent_version);
    for (const feature of r.node.client_features ?? [])
      w.uint32((10 << 3) | WireType.LengthDelimited).string(feature);
    w.join();
  }
  for (const name of r.resource_names) w.uint32((3 << 3) | WireType.LengthDelimited).string(name);
  if (r.type_url) w.uint32((4 << 3) | WireType.LengthDelimited).string(r.type_url);
  if (r.response_nonce) w.uint32((5 << 3) | WireType.LengthDelimited).string(r.response_nonce);
  if (r.error_detail) {
    w.uint32((6 << 3) | WireType.LengthDelimited).fork();
    if (r.error_detail.code) w.uint32((1 << 3) | WireType.Varint).int32(r.error_detail.code);
    if (r.error_detail.message) w.uint32((2 << 3) | WireType.LengthDelimited).string(r.error_detail.message);
    w.join();
  }
  return w.finish();
}

function decodeAny(bytes: Uint8Array): Any {
  const r = new BinaryReader(bytes);
  const any: Any = { type_url: '', value: Buffer.alloc(0) };
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 1 && wireType === WireType.LengthDelimited) any.type_url = r.string();
    else if (field === 2 && wireType === WireType.LengthDelimited) any.value = r.bytes();
    else r.skip(wireType, field);
  }
  return any;
}

/** envoy.service.discovery.v3.Resource: a resource sent with a TTL, or (no `resource`) a heartbeat. */
export interface WrappedResource {
  name: string;
  version: string;
  resource?: Any;
  /** Absent: no TTL (the resource does not expire). */
  ttlMs?: number;
}

function decodeDuration(bytes: Uint8Array): number {
  const r = new BinaryReader(bytes);
  let ms = 0;
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 1 && wireType === WireType.Varint) ms += Number(r.int64()) * 1000;
    else if (field === 2 && wireType === WireType.Varint) ms += Math.floor(r.int32() / 1_000_000);
    else r.skip(wireType, field);
  }
  return ms;
}

export function decodeWrappedResource(bytes: Uint8Array): WrappedResource {
  const r = new BinaryReader(bytes);
  const out: WrappedResource = { name: '', version: '' };
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (wireType !== WireType.LengthDelimited) r.skip(wireType, field);
    else if (field === 1) out.version = r.string();
    else if (field === 2) out.resource = decodeAny(r.bytes());
    else if (field === 3) out.name = r.string();
    else if (field === 6) out.ttlMs = decodeDuration(r.bytes());
    else r.skip(wireType, field);
  }
  return out;
}

/** Fields the router does not read (canary, control_plane) are skipped. */
export function decodeDiscoveryResponse(bytes: Uint8Array): DiscoveryResponse {
  const r = new BinaryReader(bytes);
  const res: DiscoveryResponse = { version_info: '', resources: [], type_url: '', nonce: '' };
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (wireType !== WireType.LengthDelimited) r.skip(wireType, field);
    else if (field === 1) res.version_info = r.string();
    else if (field === 2) res.resources.push(decodeAny(r.bytes()));
    else if (field === 4) res.type_url = r.string();
    else if (field === 5) res.nonce = r.string();
    else r.skip(wireType, field);
  }
  return res;
}

const STREAM_PATH = `/${ADS_SERVICE}/StreamAggregatedResources`;

/** A state-of-the-world ADS stream to `address`, with this codec, on a connection of its own. */
export function openAdsStream(
  address: string,
  keepalive: Keepalive,
  credentials?: ClientCredentials,
): GrpcBidiStream<DiscoveryRequest, DiscoveryResponse> {
  return new GrpcBidiStream(
    address,
    STREAM_PATH,
    encodeDiscoveryRequest,
    decodeDiscoveryResponse,
    keepalive,
    credentials,
  );
}
