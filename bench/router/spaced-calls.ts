import * as grpc from '@grpc/grpc-js';
import { Buffer } from 'node:buffer';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';

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

/** Echo clients of one bench run, and the metadata that sends a call through the router or not. */
export class EchoClients {
  readonly viaRouter = new grpc.Metadata();
  readonly none = new grpc.Metadata();
  private readonly clients: EngineClient[] = [];

  constructor() {
    this.viaRouter.set('x-nerve-engine', 'echo');
  }

  /** A client of 127.0.0.1:`port`, closed by close(). */
  to(port: string | number): EngineClient {
    const c = new EngineClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    this.clients.push(c);
    return c;
  }

  close(): void {
    for (const c of this.clients) c.close();
  }
}
