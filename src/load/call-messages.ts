import { Buffer } from 'node:buffer';
import { InvokeRequest } from '../../gen/nerve/engine/v1/engine';

export const INVOKE = '/nerve.engine.v1.Engine/Invoke';

/** One gRPC length-prefixed message (uncompressed). */
export function grpcFrame(message: Uint8Array): Buffer {
  const out = Buffer.alloc(5 + message.length);
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/**
 * The request messages of a load, framed: for Engine/Invoke, each payload in an InvokeRequest of
 * `operation`; for another method, each payload is its message's bytes as base64.
 */
export function callMessages(method: string, operation: string, payloads: readonly string[]): Buffer[] {
  return payloads.map((p) =>
    grpcFrame(
      method === INVOKE
        ? InvokeRequest.encode({ operation, payload: Buffer.from(p), metadata: {} }).finish()
        : Buffer.from(p, 'base64'),
    ),
  );
}
