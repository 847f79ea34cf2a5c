import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { Any, DiscoveryResponse } from '../../protocol/ads';

/*
 * envoy.service.discovery.v3.DiscoveryResponse encoded by hand, for the push loop: a wildcard client's
 * resources are one list per type snapshot, shared by every stream (sotw-stream.ts), so their bytes are
 * encoded once per snapshot and each stream's response is its version, that block and its nonce. A
 * fleet-wide push to 10,000 streams then encodes the resources once, not 10,000 times. Field numbers
 * from Envoy's discovery.proto; fields in number order, as protobuf's own serializers write them.
 */

const LD = WireType.LengthDelimited;
const encodedLists = new WeakMap<readonly Any[], Uint8Array>();

function resourcesBytes(list: readonly Any[]): Uint8Array {
  let bytes = encodedLists.get(list);
  if (bytes === undefined) {
    const w = new BinaryWriter();
    for (const any of list) {
      w.uint32((2 << 3) | LD).fork();
      if (any.type_url) w.uint32((1 << 3) | LD).string(any.type_url);
      if (any.value.length > 0) w.uint32((2 << 3) | LD).bytes(any.value);
      w.join();
    }
    bytes = w.finish();
    encodedLists.set(list, bytes);
  }
  return bytes;
}

export function encodeDiscoveryResponse(r: DiscoveryResponse): Buffer {
  const head = new BinaryWriter();
  if (r.version_info) head.uint32((1 << 3) | LD).string(r.version_info);
  const tail = new BinaryWriter();
  if (r.type_url) tail.uint32((4 << 3) | LD).string(r.type_url);
  if (r.nonce) tail.uint32((5 << 3) | LD).string(r.nonce);
  if (r.control_plane?.identifier)
    tail
      .uint32((6 << 3) | LD)
      .fork()
      .uint32((1 << 3) | LD)
      .string(r.control_plane.identifier)
      .join();
  const a = head.finish();
  const b = resourcesBytes(r.resources);
  const c = tail.finish();
  const out = Buffer.allocUnsafe(a.length + b.length + c.length);
  out.set(a, 0);
  out.set(b, a.length);
  out.set(c, a.length + b.length);
  return out;
}
