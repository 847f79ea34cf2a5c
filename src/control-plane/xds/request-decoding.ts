import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import type { DiscoveryRequest, Node } from '../../protocol/ads';

/*
 * envoy.service.discovery.v3.DiscoveryRequest decoded by hand, for the push loop: every client ACKs
 * every response, so a push to 10,000 streams is followed by 10,000 of these. Only the fields the
 * server reads are kept (of the node: id, cluster, user agent, client features); the rest are skipped
 * unread. Field numbers from Envoy's discovery.proto, base.proto and google/rpc/status.proto. Bytes
 * that are not a DiscoveryRequest throw (the call ends INTERNAL, as with any other decoder).
 */

const LD = WireType.LengthDelimited;

function decodeNode(bytes: Uint8Array): Node {
  const r = new BinaryReader(bytes);
  const features: string[] = [];
  const node: Node = { id: '', cluster: '', client_features: features };
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (wireType !== LD) r.skip(wireType, field);
    else if (field === 1) node.id = r.string();
    else if (field === 2) node.cluster = r.string();
    else if (field === 6) node.user_agent_name = r.string();
    else if (field === 7) node.user_agent_version = r.string();
    else if (field === 10) features.push(r.string());
    else r.skip(wireType, field);
  }
  return node;
}

function decodeStatus(bytes: Uint8Array): { code: number; message: string } {
  const r = new BinaryReader(bytes);
  const status = { code: 0, message: '' };
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (field === 1 && wireType === WireType.Varint) status.code = r.int32();
    else if (field === 2 && wireType === LD) status.message = r.string();
    else r.skip(wireType, field);
  }
  return status;
}

export function decodeDiscoveryRequest(bytes: Uint8Array): DiscoveryRequest {
  const r = new BinaryReader(bytes);
  const req: DiscoveryRequest = {
    version_info: '',
    node: null,
    resource_names: [],
    type_url: '',
    response_nonce: '',
    error_detail: null,
  };
  while (r.pos < r.len) {
    const [field, wireType] = r.tag();
    if (wireType !== LD) r.skip(wireType, field);
    else if (field === 1) req.version_info = r.string();
    else if (field === 2) req.node = decodeNode(r.bytes());
    else if (field === 3) req.resource_names.push(r.string());
    else if (field === 4) req.type_url = r.string();
    else if (field === 5) req.response_nonce = r.string();
    else if (field === 6) req.error_detail = decodeStatus(r.bytes());
    else r.skip(wireType, field);
  }
  return req;
}
