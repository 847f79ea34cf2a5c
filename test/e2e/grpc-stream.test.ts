import * as http2 from 'node:http2';
import type * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { GrpcBidiStream, type StreamError } from '../../src/router/control/grpc-stream';

/** The router's own gRPC stream against grpc-js's server: framing, statuses, half-close. */
describe('router gRPC bidi stream', () => {
  let server: grpc.Server;
  let port = 0;
  const bytes = (b: Buffer) => b;

  beforeAll(async () => {
    server = new grpc.Server();
    server.addService(
      {
        Chat: {
          path: '/test.Echo/Chat',
          requestStream: true,
          responseStream: true,
          requestSerialize: bytes,
          requestDeserialize: bytes,
          responseSerialize: bytes,
          responseDeserialize: bytes,
        },
      },
      {
        Chat(call: grpc.ServerDuplexStream<Buffer, Buffer>) {
          call.on('data', (m: Buffer) => {
            const text = m.toString();
            if (text === 'fail') {
              call.emit('error', { code: grpc.status.FAILED_PRECONDITION, details: 'told to fail: ✗' });
              return;
            }
            // Three answers per message, one large enough to span several HTTP/2 DATA frames.
            call.write(Buffer.from(`${text}-1`));
            call.write(Buffer.alloc(100_000, 'x'));
            call.write(Buffer.alloc(0));
          });
          call.on('end', () => call.end());
        },
      },
    );
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) =>
        e ? reject(e) : resolve(p),
      ),
    );
  });
  afterAll(() => server.forceShutdown());

  const open = (maxMessageBytes?: number) =>
    new GrpcBidiStream<string, Buffer>(
      `127.0.0.1:${port}`,
      '/test.Echo/Chat',
      (s) => Buffer.from(s),
      (b) => Buffer.from(b),
      { timeMs: 60_000, timeoutMs: 10_000 },
      {},
      maxMessageBytes,
    );

  it('ends the call RESOURCE_EXHAUSTED on a message over its size limit, before keeping it', async () => {
    const stream = open(50_000);
    const got: Buffer[] = [];
    stream.on('data', (m) => got.push(m));
    stream.write('a');
    const err = await new Promise<StreamError>((resolve) => stream.on('error', resolve));
    expect(err.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(err.message).toContain('100000 bytes exceeds the limit of 50000');
    expect(got.map((m) => m.length)).toEqual([3]);
  });

  it('shows a grpc-message that is not valid percent-encoding as it came, without throwing', async () => {
    const peer = http2.createServer();
    peer.on('stream', (s) => {
      s.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      s.on('wantTrailers', () => s.sendTrailers({ 'grpc-status': '9', 'grpc-message': 'at 100%' }));
      s.end();
    });
    await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r));
    try {
      const stream = new GrpcBidiStream<string, Buffer>(
        `127.0.0.1:${(peer.address() as net.AddressInfo).port}`,
        '/test.Echo/Chat',
        Buffer.from,
        Buffer.from,
        { timeMs: 60_000, timeoutMs: 10_000 },
      );
      const err = await new Promise<StreamError>((resolve) => stream.on('error', resolve));
      expect(err.message).toBe('9: at 100%');
    } finally {
      await new Promise<void>((r) => peer.close(() => r()));
    }
  });

  it('frames messages both ways, including large and empty ones, and ends with OK on half-close', async () => {
    const stream = open();
    const got: Buffer[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('error', reject);
    });
    stream.on('data', (m) => got.push(m));
    stream.write('a');
    stream.write('b');
    stream.end();
    await ended;
    expect(got.map((m) => m.length)).toEqual([3, 100_000, 0, 3, 100_000, 0]);
    expect(got[3].toString()).toBe('b-1');
  });

  it('reports a non-OK status with its code and decoded message', async () => {
    const stream = open();
    stream.write('fail');
    const err = await new Promise<StreamError>((resolve) => stream.on('error', resolve));
    expect(err.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(err.message).toBe('9: told to fail: ✗');
  });

  it('reports an unreachable address as UNAVAILABLE', async () => {
    const stream = new GrpcBidiStream<string, Buffer>(
      '127.0.0.1:1',
      '/test.Echo/Chat',
      Buffer.from,
      Buffer.from,
      {
        timeMs: 60_000,
        timeoutMs: 10_000,
      },
    );
    const err = await new Promise<StreamError>((resolve) => stream.on('error', resolve));
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.message).toMatch(/ECONNREFUSED/);
  });
});
