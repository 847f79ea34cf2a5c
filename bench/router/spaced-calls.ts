import type * as grpc from '@grpc/grpc-js';
import { Buffer } from 'node:buffer';
import type { EngineClient } from '../../gen/nerve/engine/v1/engine';

/** One echo call of four bytes; resolves when it has answered. */
export function echoCall(client: EngineClient, md: grpc.Metadata): Promise<void> {
  return new Promise((resolve, reject) =>
    client.invoke({ operation: 'echo', payload: Buffer.from('ping'), metadata: {} }, md, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}

/**
 * `n` calls leaving evenly spaced at `rate` per second, open loop (each call alone when `rate` is low
 * enough, as many independent callers arrive); resolves when all have answered.
 */
export async function evenlySpaced(
  client: EngineClient,
  md: grpc.Metadata,
  n: number,
  rate: number,
): Promise<void> {
  const pending: Promise<void>[] = [];
  const start = performance.now();
  let sent = 0;
  while (sent < n) {
    const due = Math.min(n, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
    for (; sent < due; sent++) pending.push(echoCall(client, md));
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(pending);
}
