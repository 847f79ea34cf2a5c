import { Buffer } from 'node:buffer';
import type { DegradedResponse } from '../../../gen/nerve/discovery/v1/policy';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import type { H2Stream } from '../../protocol/h2/stream';

const ENGINE_SERVICE_PREFIX = '/nerve.engine.v1.Engine/';

/** A configured degraded response, framed once per config (gRPC length-prefixed messages). */
export interface DegradedReply {
  /** For nerve.engine.v1.Engine methods: an InvokeResponse carrying the configured payload. */
  readonly invoke: Buffer;
  /** For other methods, when configured. */
  readonly other: Buffer | undefined;
}

function frame(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0; // not compressed
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

export function compileDegraded(engine: string, d: DegradedResponse | undefined): DegradedReply | undefined {
  if (!d?.enabled) return undefined;
  // nerve.engine.v1.InvokeResponse { payload = 1; engine = 3; version = 4 }, encoded here: the gen module
  // also holds the Engine service, whose gRPC library a router does not load.
  const w = new BinaryWriter();
  if (d.payload.length > 0) w.uint32((1 << 3) | WireType.LengthDelimited).bytes(d.payload);
  w.uint32((3 << 3) | WireType.LengthDelimited).string(engine);
  w.uint32((4 << 3) | WireType.LengthDelimited).string('degraded');
  const invoke = w.finish();
  return { invoke: frame(invoke), other: d.message === undefined ? undefined : frame(d.message) };
}

const DEGRADED_HEADERS = [':status', '200', 'content-type', 'application/grpc', 'x-nerve-degraded', 'true'];
const OK_TRAILERS = ['grpc-status', '0'];

/**
 * Answers the call with the degraded response (status OK, header x-nerve-degraded: true). False when
 * none is configured for this method: the caller then gets UNAVAILABLE.
 */
export function respondDegraded(stream: H2Stream, path: string, reply: DegradedReply): boolean {
  const body = path.startsWith(ENGINE_SERVICE_PREFIX) ? reply.invoke : reply.other;
  if (body === undefined || stream.closed || stream.headersSent) return false;
  stream.respond(DEGRADED_HEADERS, false);
  stream.write(body);
  stream.end(OK_TRAILERS);
  return true;
}
