import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { parseEngineSpec } from '../../src/model/validate';
import { bindInsecure } from '../../src/protocol/grpc-server';
import { Router } from '../../src/router/router';
import { MemoryStore } from '../../src/store/memory-store';
import { logger } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

/**
 * An engine's own typed service, defined without a proto: messages are opaque bytes, which is all the
 * router ever sees. The router finds the engine by the service name listed in the engine's config.
 */
const SERVICE = 'acme.stream.v1.Streamer';
const bytes = {
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};
const definition: grpc.ServiceDefinition = {
  Unary: { path: `/${SERVICE}/Unary`, requestStream: false, responseStream: false, ...bytes },
  Echo: { path: `/${SERVICE}/Echo`, requestStream: false, responseStream: false, ...bytes },
  Upload: { path: `/${SERVICE}/Upload`, requestStream: true, responseStream: false, ...bytes },
  Download: { path: `/${SERVICE}/Download`, requestStream: false, responseStream: true, ...bytes },
  Chat: { path: `/${SERVICE}/Chat`, requestStream: true, responseStream: true, ...bytes },
  Hang: { path: `/${SERVICE}/Hang`, requestStream: false, responseStream: true, ...bytes },
};

type Call = grpc.ServerUnaryCall<Buffer, Buffer>;
const events: string[] = [];
let engineDeadline = 0;

function trailers(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('x-engine-trailer', 'done');
  return md;
}

const handlers: grpc.UntypedServiceImplementation = {
  Unary: (call: Call, callback: grpc.sendUnaryData<Buffer>) => {
    const text = call.request.toString();
    if (text === 'fail')
      return callback({ code: grpc.status.FAILED_PRECONDITION, details: 'engine says: not now ✋' });
    const header = new grpc.Metadata();
    header.set('x-engine-header', String(call.metadata.get('x-caller')[0] ?? ''));
    call.sendMetadata(header);
    callback(null, Buffer.from(text.toUpperCase()), trailers());
  },
  Echo: (call: Call, callback: grpc.sendUnaryData<Buffer>) => callback(null, call.request),
  Upload: (call: grpc.ServerReadableStream<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
    const parts: string[] = [];
    call.on('data', (b: Buffer) => parts.push(b.toString()));
    call.on('end', () => callback(null, Buffer.from(parts.join('+'))));
  },
  Download: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    const n = Number(call.request.toString());
    for (let i = 0; i < n; i++) call.write(Buffer.from(`chunk-${i}`));
    call.end(trailers());
  },
  Chat: (call: grpc.ServerDuplexStream<Buffer, Buffer>) => {
    call.on('data', (b: Buffer) => call.write(Buffer.from(`echo:${b.toString()}`)));
    call.on('end', () => call.end());
    call.on('cancelled', () => events.push('chat cancelled'));
  },
  Hang: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
    // grpc-js gives the deadline as epoch milliseconds (Infinity when the caller set none).
    engineDeadline = Number(call.getDeadline());
    events.push('hang started');
    call.on('cancelled', () => events.push('hang cancelled'));
  },
};

let engine: grpc.Server;
let cp: ControlPlane;
let router: Router;
let client: grpc.Client;

const ClientCtor = grpc.makeGenericClientConstructor(definition, 'Streamer');
type GenericClient = grpc.Client & Record<string, (...args: unknown[]) => unknown>;

beforeAll(async () => {
  engine = new grpc.Server();
  engine.addService(definition, handlers);
  new HealthImplementation({ '': 'SERVING' }).addToServer(engine);
  const port = await bindInsecure(engine, '127.0.0.1', 0);
  const spec = parseEngineSpec({
    name: 'streamer',
    services: [SERVICE],
    instances: [{ id: 's1', address: `127.0.0.1:${port}` }],
    policy: { healthCheck: { intervalMs: 100 } },
  });
  if (!spec.ok) throw new Error(spec.errors.join());
  cp = await ControlPlane.start({
    store: new MemoryStore(),
    logger,
    host: '127.0.0.1',
    xdsPort: 0,
    engines: [spec.value],
  });
  router = await new Router({
    controlPlanes: [`127.0.0.1:${cp.port}`],
    id: 'fwd',
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    logger,
  }).start();
  await waitFor(
    () => router.state.engineForService(SERVICE) && router.state.engine('streamer')?.picker.pick(),
    'the route by service',
  );
  client = new ClientCtor(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await router?.stop(500);
  await cp?.stop(500);
  engine?.forceShutdown();
});

const c = () => client as GenericClient;

describe('HTTP/2 stream forwarding of an engine service routed by its service name', () => {
  it('unary: request and response bytes, caller metadata to the engine, headers and trailers back', async () => {
    const md = new grpc.Metadata();
    md.set('x-caller', 'tester');
    let headers: grpc.Metadata | undefined;
    let trailing: grpc.Metadata | undefined;
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const call = c().Unary(Buffer.from('hello'), md, (err: grpc.ServiceError | null, res: Buffer) =>
        err ? reject(err) : resolve(res),
      ) as grpc.ClientUnaryCall;
      call.on('metadata', (m: grpc.Metadata) => (headers = m));
      call.on('status', (s: grpc.StatusObject) => (trailing = s.metadata));
    });
    expect(reply.toString()).toBe('HELLO');
    expect(headers?.get('x-engine-header')).toEqual(['tester']);
    await waitFor(() => trailing, 'trailers');
    expect(trailing!.get('x-engine-trailer')).toEqual(['done']);
  });

  it('carries a 3 MB request and its 3 MB answer through both flow-controlled hops', async () => {
    const big = Buffer.alloc(3 * 1024 * 1024, 'q');
    const reply = await new Promise<Buffer>((resolve, reject) =>
      c().Unary(big, (err: grpc.ServiceError | null, res: Buffer) => (err ? reject(err) : resolve(res))),
    );
    expect(reply.length).toBe(big.length);
    expect(reply.equals(Buffer.alloc(big.length, 'Q'))).toBe(true);
  });

  it('keeps calls on different connections apart: random bodies come back byte for byte', async () => {
    // Every socket of the router reads into one shared buffer (h2/socket-reads.ts): bytes kept past
    // their read without a copy (queued behind the engine's windows, held, buffered for retries) would be
    // overwritten by another connection's and show up in the wrong answer.
    const clients = Array.from(
      { length: 6 },
      () =>
        new ClientCtor(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure(), {
          'grpc.use_local_subchannel_pool': 1,
        }) as GenericClient,
    );
    try {
      const bodies = clients.flatMap(() => [randomBytes(300_000), randomBytes(1_000), randomBytes(70_000)]);
      const replies = await Promise.all(
        bodies.map(
          (body, i) =>
            new Promise<Buffer>((resolve, reject) =>
              clients[Math.floor(i / 3)].Echo(body, (err: grpc.ServiceError | null, res: Buffer) =>
                err ? reject(err) : resolve(res),
              ),
            ),
        ),
      );
      const wrong = replies.flatMap((reply, i) => (reply.equals(bodies[i]) ? [] : [i]));
      expect(wrong).toEqual([]);
    } finally {
      for (const k of clients) k.close();
    }
  });

  it('counts connections, connection errors and violations on /metrics', async () => {
    // Deltas, not absolute values: other tests of this file use the same router in any order.
    const scrape = async () => (await fetch(`http://127.0.0.1:${router.adminPort}/metrics`)).text();
    const value = (text: string, pattern: RegExp) => Number(pattern.exec(text)?.[1] ?? 0);
    const errors =
      /nerve_router_connection_errors_total\{side="downstream",code="PROTOCOL_ERROR"[^}]*\} (\d+)\n/;
    const notHttp2 =
      /nerve_router_connection_violations_total\{side="downstream",reason="not_http2"[^}]*\} (\d+)\n/;
    const opened = /nerve_router_connections_opened_total\{side="downstream"[^}]*\} (\d+)\n/;
    const before = await scrape();
    await new Promise<void>((resolve) => {
      const socket = net.connect(router.port, '127.0.0.1', () =>
        socket.end('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      socket.on('data', () => undefined);
      socket.on('close', () => resolve());
    });
    const after = await scrape();
    expect(value(after, errors) - value(before, errors)).toBe(1);
    expect(value(after, notHttp2) - value(before, notHttp2)).toBe(1);
    expect(value(after, opened) - value(before, opened)).toBe(1);
    expect(after).toMatch(/nerve_router_connections\{side="upstream"[^}]*\} \d+\n/);
  });

  it('carries an engine error (trailers-only) with its code and non-ASCII message', async () => {
    const err = await new Promise<grpc.ServiceError>((resolve) =>
      c().Unary(Buffer.from('fail'), (e: grpc.ServiceError) => resolve(e)),
    );
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.details).toBe('engine says: not now ✋');
  });

  it('client streaming', async () => {
    const reply = await new Promise<Buffer>((resolve, reject) => {
      const call = c().Upload((err: grpc.ServiceError | null, res: Buffer) =>
        err ? reject(err) : resolve(res),
      ) as grpc.ClientWritableStream<Buffer>;
      for (const p of ['a', 'b', 'c']) call.write(Buffer.from(p));
      call.end();
    });
    expect(reply.toString()).toBe('a+b+c');
  });

  it('server streaming with trailers', async () => {
    const call = c().Download(Buffer.from('50')) as grpc.ClientReadableStream<Buffer>;
    const chunks: string[] = [];
    call.on('data', (b: Buffer) => chunks.push(b.toString()));
    const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    expect(chunks).toHaveLength(50);
    expect(chunks[49]).toBe('chunk-49');
    expect(status.code).toBe(grpc.status.OK);
    expect(status.metadata.get('x-engine-trailer')).toEqual(['done']);
  });

  it('bidirectional streaming, and a caller cancel reaches the engine', async () => {
    const call = c().Chat() as grpc.ClientDuplexStream<Buffer, Buffer>;
    const got: string[] = [];
    call.on('data', (b: Buffer) => got.push(b.toString()));
    call.on('error', () => undefined);
    call.write(Buffer.from('x'));
    call.write(Buffer.from('y'));
    await waitFor(() => got.length === 2, 'two echoes');
    expect(got).toEqual(['echo:x', 'echo:y']);
    call.cancel();
    await waitFor(() => events.includes('chat cancelled'), 'the cancel at the engine');
  });

  it('propagates the deadline: the engine sees it, the caller gets DEADLINE_EXCEEDED on time, the engine is cancelled', async () => {
    const started = Date.now();
    const deadline = started + 300;
    const call = c().Hang(Buffer.from(''), { deadline }) as grpc.ClientReadableStream<Buffer>;
    call.on('data', () => undefined);
    call.on('error', () => undefined); // the status event carries the outcome
    const status = await new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    const elapsed = Date.now() - started;
    expect(status.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(2_500); // generous: a loaded CI machine
    expect(events).toContain('hang started');
    // The engine's deadline is the caller's (grpc-timeout carried through), within clock and transit slack.
    expect(Math.abs(engineDeadline - deadline)).toBeLessThan(250);
    await waitFor(() => events.includes('hang cancelled'), 'the engine to see the call end');
  });
});
