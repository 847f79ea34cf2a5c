import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { EngineClient, EngineService, type EngineServer } from '../../gen/nerve/engine/v1/engine';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { parseTraceparent } from '../../src/observability/trace-context';
import { bindInsecure } from '../../src/protocol/grpc-server';
import type { Router } from '../../src/router/router';
import { startPlane } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

/** What an engine of one's own receives: the traceparent of every call, as grpc-js decodes it. */
describe('trace context at an engine behind the router', () => {
  const seen: (string | undefined)[] = [];
  let server: grpc.Server;
  let cp: ControlPlane;
  let router: Router;
  let client: EngineClient;

  beforeAll(async () => {
    server = new grpc.Server();
    const impl: EngineServer = {
      invoke(call, callback) {
        const [value] = call.metadata.get('traceparent');
        seen.push(typeof value === 'string' ? value : undefined);
        callback(null, { payload: call.request.payload, instanceId: 'own-1', engine: 'own', version: 'v1' });
      },
      invokeStream(call) {
        call.end();
      },
    };
    server.addService(EngineService, impl);
    new HealthImplementation({ '': 'SERVING' }).addToServer(server);
    const port = await bindInsecure(server, '127.0.0.1', 0);
    ({ cp, router } = await startPlane(
      [{ name: 'own', instances: [{ id: 'own-1', address: `127.0.0.1:${port}` }] }],
      'trace-context',
    ));
    await waitFor(() => router.state.inRotation('own').length === 1, 'the instance in rotation');
    client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    await router.stop(500);
    await cp.stop(500);
    server.forceShutdown();
  });

  const call = (metadata: Record<string, string> = {}) =>
    new Promise<void>((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('x-nerve-engine', 'own');
      for (const [k, v] of Object.entries(metadata)) md.set(k, v);
      client.invoke({ operation: 'echo', payload: Buffer.from('x'), metadata: {} }, md, (err) =>
        err ? reject(err) : resolve(),
      );
    });

  it('gets a traceparent the router made for each call that came without one, a new trace each', async () => {
    seen.length = 0;
    for (let i = 0; i < 20; i++) await call();
    const traces = seen.map((v) => parseTraceparent(v));
    expect(traces.every((t) => t !== undefined && !t.sampled)).toBe(true);
    expect(new Set(traces.map((t) => t!.traceId)).size).toBe(20);
  });

  it("gets a caller's unsampled traceparent as it was sent", async () => {
    seen.length = 0;
    const sent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00';
    await call({ traceparent: sent });
    expect(seen).toEqual([sent]);
  });

  it("gets a caller's sampled traceparent with the router's span as its parent", async () => {
    seen.length = 0;
    await call({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' });
    const got = parseTraceparent(seen[0])!;
    expect(got).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', sampled: true });
    expect(got.parentId).not.toBe('00f067aa0ba902b7');
  });
});
