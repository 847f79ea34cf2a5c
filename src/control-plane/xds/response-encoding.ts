import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { Any, DiscoveryResponse } from '../../protocol/ads';

/*
 * envoy.service.discovery.v3.DiscoveryResponse encoded by hand, for the push loop: a wildcard client's
 * resources are one list per type snapshot, shared by every stream (sotw-stream.ts), so their bytes are
 * encoded once per snapshot, and each stream's response is a few bytes of its own (version, type,
 * nonce) around that block, which goes out as it is: a push to 10,000 streams encodes and copies the
 * resources once, not 10,000 times. Field numbers from Envoy's discovery.proto; fields in number order,
 * as protobuf's own serializers write them.
 */

const LD = WireType.LengthDelimited;
const encodedLists = new WeakMap<readonly Any[], Buffer>();

function resourcesBytes(list: readonly Any[]): Buffer {
  let bytes = encodedLists.get(list);
  if (bytes === undefined) {
    const w = new BinaryWriter();
    for (const any of list) {
      w.uint32((2 << 3) | LD).fork();
      if (any.type_url) w.uint32((1 << 3) | LD).string(any.type_url);
      if (any.value.length > 0) w.uint32((2 << 3) | LD).bytes(any.value);
      w.join();
    }
    const finished = w.finish();
    bytes = Buffer.from(finished.buffer, finished.byteOffset, finished.byteLength);
    encodedLists.set(list, bytes);
  }
  return bytes;
}

function varintLength(n: number): number {
  let length = 1;
  while (n >= 0x80) {
    n >>>= 7;
    length++;
  }
  return length;
}

/** Bytes of a string field (tag, length, UTF-8), or 0 for an empty string (not written). */
function fieldLength(value: string): number {
  if (value === '') return 0;
  const n = Buffer.byteLength(value);
  return 1 + varintLength(n) + n;
}

function writeVarint(buf: Buffer, at: number, n: number): number {
  while (n >= 0x80) {
    buf[at++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[at++] = n;
  return at;
}

function writeField(buf: Buffer, at: number, field: number, value: string): number {
  if (value === '') return at;
  buf[at++] = (field << 3) | LD;
  at = writeVarint(buf, at, Buffer.byteLength(value));
  return at + buf.write(value, at);
}

/**
 * The response as a gRPC message in three parts: the 5-byte message prefix with the version, the shared
 * resources block (never written to: it may be queued as it is), and the type, nonce and control plane.
 */
export function discoveryResponseParts(r: DiscoveryResponse): [Buffer, Buffer, Buffer] {
  const block = resourcesBytes(r.resources);
  const identifier = r.control_plane?.identifier ?? '';
  const controlPlane = identifier === '' ? 0 : fieldLength(identifier);
  const tailLength =
    fieldLength(r.type_url) +
    fieldLength(r.nonce) +
    (controlPlane === 0 ? 0 : 1 + varintLength(controlPlane) + controlPlane);
  const headLength = fieldLength(r.version_info);
  const head = Buffer.allocUnsafe(5 + headLength);
  head[0] = 0;
  head.writeUInt32BE(headLength + block.length + tailLength, 1);
  writeField(head, 5, 1, r.version_info);
  const tail = Buffer.allocUnsafe(tailLength);
  let at = writeField(tail, 0, 4, r.type_url);
  at = writeField(tail, at, 5, r.nonce);
  if (controlPlane > 0) {
    tail[at++] = (6 << 3) | LD;
    at = writeVarint(tail, at, controlPlane);
    writeField(tail, at, 1, identifier);
  }
  return [head, block, tail];
}

/** The message alone (no gRPC prefix), in one buffer. */
export function encodeDiscoveryResponse(r: DiscoveryResponse): Buffer {
  const [head, block, tail] = discoveryResponseParts(r);
  return Buffer.concat([head.subarray(5), block, tail]);
}
