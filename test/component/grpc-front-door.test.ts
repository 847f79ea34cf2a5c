import * as grpc from '@grpc/grpc-js';
import { GrpcFrontDoor } from '../../src/protocol/grpc-h2/grpc-front-door';
import { H2GrpcCall } from '../../src/protocol/grpc-h2/grpc-call';
import { grpcCredentials, grpcPeer } from '../../src/security/grpc-credentials';
import { FORWARDED_IDENTITY, FORWARDED_PROOF } from '../../src/security/forwarded-peer';
import { waitFor } from '../helpers/wait';

const bytes = {
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

/** A service of raw bytes: Who (unary, grpc-js), Big (server streaming, grpc-js), Echo (bidi, ours). */
const SERVICE: grpc.ServiceDefinition = {
  Who: { path: '/test.Door/Who', requestStream: false, responseStream: false, ...bytes },
  Big: { path: '/test.Door/Big', requestStream: false, responseStream: true, ...bytes },
  Echo: { path: '/test.Door/Echo', requestStream: true, responseStream: true, ...bytes },
};

interface DoorClient extends grpc.Client {
  Who(req: Buffer, md: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): void;
  Big(req: Buffer): grpc.ClientReadableStream<Buffer>;
  Echo(): grpc.ClientDuplexStream<Buffer, Buffer>;
}

/**
 * The control plane's gRPC port (protocol/grpc-h2): methods served on our HTTP/2 layer, every other call
 * passed on to grpc-js in-process with the caller vouched for, and what a caller claims about itself
 * never taken for what the front door vouches.
 */
describe('gRPC front door', () => {
  let door: GrpcFrontDoor;
  let fallback: grpc.Server;
  let client: DoorClient;
  let port: number;
  const seen: { peer: string; certificate: string | undefined; forged: unknown[] }[] = [];
  let bigCancelled = false;
  let bigOpen = false;

  beforeAll(async () => {
    fallback = new grpc.Server();
    fallback.addService(SERVICE, {
      Who: (call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) => {
        seen.push({
          peer: grpcPeer(call),
          certificate: grpcCredentials(call).certificate,
          forged: call.metadata.get(FORWARDED_IDENTITY),
        });
        cb(null, Buffer.from(`hello ${call.request.toString()}`));
      },
      Big: (call: grpc.ServerWritableStream<Buffer, Buffer>) => {
        call.on('cancelled', () => (bigCancelled = true));
        bigOpen = true;
        const n = Number(call.request.toString());
        let i = 0;
        const more = () => {
          while (i < n) {
            const chunk = Buffer.alloc(64 * 1024, i % 256);
            i++;
            if (!call.write(chunk)) return void call.once('drain', more);
          }
          if (n > 0) call.end();
        };
        more();
      },
    });
    door = new GrpcFrontDoor({
      fallback,
      methods: new Map([
        [
          '/test.Door/Echo',
          (stream, caller) => {
            const call = new H2GrpcCall<Buffer, Buffer>(
              stream,
              { decode: (b) => b, encode: (b) => b },
              caller.peer,
              caller.certificate,
              1024,
            );
            call.on('data', (m: Buffer) => {
              if (m.toString() === 'fail')
                call.emit('error', { code: grpc.status.ABORTED, details: 'as asked: ü%' });
              else call.write(Buffer.from(`echo ${m.toString()} from ${call.getPeer().split(':')[0]}`));
            });
            call.on('end', () => call.end());
            stream.attach(call);
          },
        ],
      ]),
    });
    port = await door.listen('127.0.0.1', 0);
    const Ctor = grpc.makeGenericClientConstructor(SERVICE, 'Door');
    client = new Ctor(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as DoorClient;
  });

  afterAll(async () => {
    client?.close();
    await door?.close(200);
    fallback?.forceShutdown();
  });

  const who = (md = new grpc.Metadata()) =>
    new Promise<string>((resolve, reject) =>
      client.Who(Buffer.from('you'), md, (err, res) => (err ? reject(err) : resolve(res!.toString()))),
    );

  it('passes a call on to grpc-js, vouching for the caller; a caller that vouches for itself is not believed', async () => {
    const md = new grpc.Metadata();
    md.set(FORWARDED_IDENTITY, 'spiffe://forged/admin');
    md.set(FORWARDED_PROOF, 'a guess');
    expect(await who(md)).toBe('hello you');
    expect(seen[0].peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(seen[0].peer).not.toBe(`127.0.0.1:${port}`);
    // Plaintext: no certificate, and the forged identity never reached the service.
    expect(seen[0].certificate).toBeUndefined();
    expect(seen[0].forged).toEqual([]);
    expect(door.stats.open).toBeGreaterThanOrEqual(1);
  });

  it('streams a large answer back whole through both sides’ flow control, and passes a cancel on', async () => {
    const stream = client.Big(Buffer.from('200'));
    let total = 0;
    let sum = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      total += chunk.length;
      sum += chunk[0];
    }
    expect(total).toBe(200 * 64 * 1024);
    expect(sum).toBe(Array.from({ length: 200 }, (_, i) => i % 256).reduce((a, b) => a + b, 0));
    bigOpen = false;
    const endless = client.Big(Buffer.from('0'));
    endless.on('error', () => undefined);
    await waitFor(() => bigOpen, 'the endless call at the service');
    endless.cancel();
    await waitFor(() => bigCancelled, 'the cancel passed on to the service');
  });

  it('serves a method on our own layer: messages both ways, a status with its message, limits', async () => {
    const call = client.Echo();
    const got: string[] = [];
    call.on('data', (m: Buffer) => got.push(m.toString()));
    call.write(Buffer.from('one'));
    call.write(Buffer.from('two'));
    await waitFor(() => got.length === 2, 'two echoes');
    expect(got).toEqual(['echo one from 127.0.0.1', 'echo two from 127.0.0.1']);
    const status = new Promise<grpc.StatusObject>((resolve) => call.on('status', resolve));
    call.on('error', () => undefined);
    call.write(Buffer.from('fail'));
    expect(await status).toMatchObject({ code: grpc.status.ABORTED, details: 'as asked: ü%' });

    const big = client.Echo();
    const refused = new Promise<grpc.ServiceError>((resolve) => big.on('error', resolve));
    big.write(Buffer.alloc(2048));
    expect(await refused).toMatchObject({
      code: grpc.status.RESOURCE_EXHAUSTED,
      details: 'a message of 2048 bytes is over the limit of 1024',
    });

    const done = client.Echo();
    const ok = new Promise<grpc.StatusObject>((resolve) => done.on('status', resolve));
    done.on('data', () => undefined);
    done.end();
    expect((await ok).code).toBe(grpc.status.OK);
  });

  it('answers a request to a gRPC method that is not gRPC with 415', async () => {
    const http2 = await import('node:http2');
    const session = http2.connect(`http://127.0.0.1:${port}`);
    const req = session.request({
      ':method': 'POST',
      ':path': '/test.Door/Echo',
      'content-type': 'text/plain',
    });
    const status = await new Promise<number>((resolve) =>
      req.on('response', (h) => resolve(Number(h[':status']))),
    );
    expect(status).toBe(415);
    req.close();
    session.close();
  });
});
