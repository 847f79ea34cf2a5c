import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { EngineClient, EngineService, type EngineServer } from '../../gen/nerve/engine/v1/engine';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { parseTraceparent } from '../../src/observability/trace-context';
import { bindInsecure } from '../../src/protocol/grpc-server';
import type { Router } from '../../src/router/router';
import { startPlane, startRouter } from '../helpers/cluster';
import { startReceiver } from '../helpers/webhook-receiver';
import { waitFor } from '../helpers/wait';

/** What an engine of one's own receives: the traceparent of every call, as grpc-js decodes it. */
describe('trace context at an engine behind the router', () => {
  const seen: (string | undefined)[] = [];
  let server: grpc.Server;
  let cp: ControlPlane;
  let router: Router;
  let client: EngineClient;
  /** A router where nothing traces: no sample ratio, no export. */
  let quiet: Router;
  let quietClient: EngineClient;
  let collector: Awaited<ReturnType<typeof startReceiver>>;

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
    collector = await startReceiver();
    // Spans exported over OTLP: something traces, so calls without a traceparent get one.
    ({ cp, router } = await startPlane(
      [{ name: 'own', instances: [{ id: 'own-1', address: `127.0.0.1:${port}` }] }],
      'trace-context',
      { tracing: { sampleRatio: 0, otlp: { url: collector.url, serviceName: 'nerve-router' } } },
    ));
    quiet = await startRouter(cp, 'trace-quiet');
    await waitFor(() => router.state.inRotation('own').length === 1, 'the instance in rotation');
    await waitFor(() => quiet.state.inRotation('own').length === 1, 'the instance in rotation (quiet)');
    client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
    quietClient = new EngineClient(`127.0.0.1:${quiet.port}`, grpc.credentials.createInsecure());
  });
  afterAll(async () => {
    client.close();
    quietClient.close();
    await quiet.stop(500);
    await router.stop(500);
    await collector.close();
    await cp.stop(500);
    server.forceShutdown();
  });

  const call = (metadata: Record<string, string> = {}, through = client) =>
    new Promise<void>((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('x-nerve-engine', 'own');
      for (const [k, v] of Object.entries(metadata)) md.set(k, v);
      through.invoke({ operation: 'echo', payload: Buffer.from('x'), metadata: {} }, md, (err) =>
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

  it('gets no traceparent the router made while nothing traces there (no sample ratio, no export)', async () => {
    seen.length = 0;
    for (let i = 0; i < 5; i++) await call({}, quietClient);
    expect(seen).toEqual([undefined, undefined, undefined, undefined, undefined]);
    const sampled = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await call({ traceparent: sampled }, quietClient);
    expect(parseTraceparent(seen[5])).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });
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
