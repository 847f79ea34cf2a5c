import * as grpc from '@grpc/grpc-js';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { parseEngineSpec } from '../../src/model/validate';
import { Router } from '../../src/router/router';
import { MemoryStore } from '../../src/store/memory-store';
import { logger } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

/** A gRPC message frame: not compressed, length, bytes. */
const frame = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, 0, b.length]), b]);
const SERVING = frame(Buffer.from([0x08, 0x01])); // grpc.health.v1.HealthCheckResponse { status: SERVING }

/**
 * An instance that refuses its first call before processing it (RST_STREAM REFUSED_STREAM, as a server
 * over its stream limit or shutting down does), then serves: the router must send the refused call again at once (gRPC's transparent retry),
 * with no retry policy configured, without counting it against the instance.
 */
describe('a stream the instance refused unprocessed', () => {
  it('is sent again transparently, and the instance is not ejected', async () => {
    let refused = 0;
    let served = 0;
    const instance = http2.createServer();
    instance.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      const path = headers[':path'];
      if (path === '/acme.Echo/Say' && refused === 0) {
        refused++;
        stream.close(http2.constants.NGHTTP2_REFUSED_STREAM); // not processed: safe to send again
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        if (path === '/acme.Echo/Say') served++;
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(path === '/acme.Echo/Say' ? Buffer.concat(chunks) : SERVING);
      });
    });
    await new Promise<void>((r) => instance.listen(0, '127.0.0.1', r));
    const spec = parseEngineSpec({
      name: 'echo',
      services: ['acme.Echo'],
      instances: [{ id: 'e1', address: `127.0.0.1:${(instance.address() as AddressInfo).port}` }],
      policy: { healthCheck: { intervalMs: 100 } },
    });
    if (!spec.ok) throw new Error(spec.errors.join());
    const cp = await ControlPlane.start({
      store: new MemoryStore(),
      logger,
      host: '127.0.0.1',
      xdsPort: 0,
      engines: [spec.value],
    });
    const router = await new Router({
      controlPlanes: [`127.0.0.1:${cp.port}`],
      id: 'refused',
      host: '127.0.0.1',
      port: 0,
      adminPort: 0,
      logger,
    }).start();
    const client = new grpc.Client(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
    try {
      await waitFor(() => router.state.engine('echo')?.picker.pick(), 'the route');
      const reply = await new Promise<Buffer>((resolve, reject) =>
        client.makeUnaryRequest(
          '/acme.Echo/Say',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from('hello'),
          (err, res) => (err ? reject(err) : resolve(res!)),
        ),
      );
      expect(reply.toString()).toBe('hello');
      expect(refused).toBe(1);
      expect(served).toBe(1);
      expect(router.state.instanceStats('echo', 'e1')!.ejectedUntil).toBeLessThanOrEqual(performance.now());
      expect(router.state.inRotation('echo')).toEqual(['e1']);
    } finally {
      client.close();
      await router.stop(200);
      await cp.stop(200);
      await new Promise<void>((r) => instance.close(() => r()));
    }
  });
});
