import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import type { Router } from '../../src/router/router';
import { startPlane } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

/** A gRPC message frame: not compressed, length, bytes. */
const frame = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, b.length]), b]);
const SERVING = frame(Buffer.from([0x08, 0x01])); // grpc.health.v1.HealthCheckResponse { status: SERVING }
const SAY = '/acme.Echo/Say';

/** A gRPC instance on node:http2 that answers health checks, and Say as `say` decides. */
async function instance(
  say: (stream: http2.ServerHttp2Stream, body: Buffer) => void,
): Promise<{ server: http2.Http2Server; address: string }> {
  const server = http2.createServer();
  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      if (headers[':path'] === SAY) return say(stream, Buffer.concat(chunks));
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(SERVING);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function answer(stream: http2.ServerHttp2Stream, body: Buffer): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(body);
}

/**
 * Calls an instance leaves unanswered without having failed them: the router sends them again instead of
 * passing the instance's trouble to the caller.
 */
describe('a call an instance leaves unanswered', () => {
  let cp: ControlPlane;
  let router: Router;
  let client: grpc.Client;
  const servers: http2.Http2Server[] = [];
  const log: string[] = [];

  async function start(
    behaviour: Record<string, (stream: http2.ServerHttp2Stream, body: Buffer) => void>,
    policy: Record<string, unknown> = {},
  ) {
    const instances = [];
    for (const [id, say] of Object.entries(behaviour)) {
      const { server, address } = await instance(say);
      servers.push(server);
      instances.push({ id, address });
    }
    ({ cp, router } = await startPlane(
      [
        {
          name: 'echo',
          services: ['acme.Echo'],
          instances,
          policy: { healthCheck: { intervalMs: 100 }, ...policy },
        },
      ],
      'unanswered',
    ));
    client = new grpc.Client(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
    await waitFor(
      () => router.state.inRotation('echo').length === instances.length,
      'the instances in rotation',
    );
  }

  const say = (text: string) =>
    new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        SAY,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(text),
        (err, res) => (err ? reject(err) : resolve(res!)),
      ),
    );

  afterEach(async () => {
    client?.close();
    await router?.stop(200);
    await cp?.stop(200);
    for (const s of servers.splice(0)) await new Promise<void>((r) => s.close(() => r()));
    log.length = 0;
  });

  it('refused unprocessed (REFUSED_STREAM): sent again at once, whatever the retry policy, not held against it', async () => {
    let refused = 0;
    const refuseFirst = (id: string) => (stream: http2.ServerHttp2Stream, body: Buffer) => {
      if (refused++ === 0) {
        log.push(`${id} refused`);
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM); // not processed: safe to send again
        return;
      }
      log.push(`${id} served`);
      answer(stream, body);
    };
    await start({ e1: refuseFirst('e1'), e2: refuseFirst('e2') });
    expect((await say('hello')).toString()).toBe('hello');
    expect(log).toHaveLength(2);
    expect(log[0]).toMatch(/refused$/);
    expect(log[1]).toMatch(/served$/);
    for (const id of ['e1', 'e2'])
      expect(router.state.instanceStats('echo', id)?.ejectedUntil ?? 0).toBeLessThanOrEqual(
        performance.now(),
      );
    expect(router.state.inRotation('echo')).toHaveLength(2);
  });

  /** Both instances serve, except the very first call, which dies as `die` says. */
  function firstCallDies(die: (stream: http2.ServerHttp2Stream) => void) {
    let died = false;
    const behave = (id: string) => (stream: http2.ServerHttp2Stream, body: Buffer) => {
      if (!died) {
        died = true;
        log.push(`${id} died`);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        die(stream);
        return;
      }
      log.push(`${id} served`);
      answer(stream, body);
    };
    return { e1: behave('e1'), e2: behave('e2') };
  }

  /** The headers reach the router (a PING's answer comes after it read what was sent before), then death. */
  const afterHeaders = (stream: http2.ServerHttp2Stream) =>
    stream.session?.ping(() => stream.session?.destroy());
  /** The answer is sent, the process dies before the trailers. */
  const beforeTrailers = (stream: http2.ServerHttp2Stream) =>
    stream.write(frame(Buffer.from('half')), () => stream.session?.destroy());

  /** The first instance died, the other served. */
  function expectDiedThenServed(): void {
    expect(log).toHaveLength(2);
    expect(log[0]).toMatch(/died$/);
    expect(log[1]).toMatch(/served$/);
    expect(log[0].split(' ')[0]).not.toBe(log[1].split(' ')[0]);
  }

  it('headers sent, then the connection died before the answer: retried on another instance', async () => {
    await start(firstCallDies(afterHeaders));
    expect((await say('again')).toString()).toBe('again');
    expectDiedThenServed();
  });

  it('its answer sent, then the connection died before the trailers: retried, nothing half-sent to the caller', async () => {
    await start(firstCallDies(beforeTrailers));
    expect((await say('whole')).toString()).toBe('whole');
    expectDiedThenServed();
  });

  // A hedged call: one copy at first (the next would start after two seconds); the one that answers dies.
  const hedged = { hedging: { maxAttempts: 2, delayMs: 2000, methods: [SAY] } };

  it('hedged: the copy that sent its headers died before its answer: another copy answers', async () => {
    await start(firstCallDies(afterHeaders), hedged);
    const started = performance.now();
    expect((await say('hedged')).toString()).toBe('hedged');
    expect(performance.now() - started).toBeLessThan(1_800); // at once, not after the 2 s hedging delay
    expectDiedThenServed();
  });

  it('hedged: the copy that sent its answer died before its trailers: nothing half-sent, another copy answers', async () => {
    await start(firstCallDies(beforeTrailers), hedged);
    expect((await say('whole')).toString()).toBe('whole');
    expectDiedThenServed();
  });
});
