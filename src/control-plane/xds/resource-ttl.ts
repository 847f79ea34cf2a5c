import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { Resource, TypeSnapshot } from '../../model/snapshot';
import type { Any } from '../../protocol/ads';
import { RESOURCE_WRAPPER_TYPE } from '../../protocol/type-urls';

/*
 * Resources with a time to live (Envoy's xDS resource TTL), state of the world: each resource goes out
 * as an envoy.service.discovery.v3.Resource {version, resource, name, ttl}, and a heartbeat is the same
 * wrapper without `resource` at the version the client holds, which restarts the client's timer without
 * changing anything. Field numbers from Envoy's discovery.proto; encoded once per resource and TTL, and
 * shared by every stream, as the plain resources are.
 */

const LD = WireType.LengthDelimited;

function wrap(typeUrl: string, r: Resource, ttlMs: number, body: boolean): Any {
  const w = new BinaryWriter();
  w.uint32((1 << 3) | LD).string(r.version);
  if (body) {
    w.uint32((2 << 3) | LD).fork();
    w.uint32((1 << 3) | LD).string(typeUrl);
    w.uint32((2 << 3) | LD).bytes(r.body);
    w.join();
  }
  w.uint32((3 << 3) | LD).string(r.name);
  w.uint32((6 << 3) | LD).fork(); // google.protobuf.Duration
  const seconds = Math.floor(ttlMs / 1000);
  if (seconds > 0) w.uint32((1 << 3) | WireType.Varint).int64(seconds);
  const nanos = (ttlMs % 1000) * 1_000_000;
  if (nanos > 0) w.uint32((2 << 3) | WireType.Varint).int32(nanos);
  w.join();
  const bytes = w.finish();
  return {
    type_url: RESOURCE_WRAPPER_TYPE,
    value: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  };
}

const full = new WeakMap<Resource, Any>();
const heartbeats = new WeakMap<Resource, Any>();

/**
 * The resource as a stream sends it: a plain Any, or wrapped with the type's TTL (`body` false: the
 * heartbeat). A type snapshot's TTL never changes, so the wrapper is cached per resource.
 */
export function resourceAny(typeUrl: string, ts: TypeSnapshot, r: Resource, body = true): Any {
  if (ts.ttlMs === undefined) return { type_url: typeUrl, value: r.body as Buffer };
  const cache = body ? full : heartbeats;
  let any = cache.get(r);
  if (!any) {
    any = wrap(typeUrl, r, ts.ttlMs, body);
    cache.set(r, any);
  }
  return any;
}

const lists = new WeakMap<TypeSnapshot, Any[]>();
const heartbeatLists = new WeakMap<TypeSnapshot, Any[]>();

/** Every resource of a type snapshot as a stream sends it, built once per snapshot and shared by all streams. */
export function allResources(typeUrl: string, ts: TypeSnapshot, body = true): Any[] {
  const cache = body ? lists : heartbeatLists;
  let list = cache.get(ts);
  if (!list) {
    list = [...ts.resources.values()].map((r) => resourceAny(typeUrl, ts, r, body));
    cache.set(ts, list);
  }
  return list;
}
