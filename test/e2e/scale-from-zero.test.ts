import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import type { Router } from '../../src/router/router';
import { engineSpec, startControlPlane, startRouter } from '../helpers/cluster';
import { processEngine, processes, runDir } from '../helpers/fleet';
import { internals } from '../helpers/internals';
import { waitFor } from '../helpers/wait';

jest.setTimeout(90_000);

/** One call through the router, with what the caller sees: its status, the response headers, the time. */
function call(client: EngineClient, deadlineMs = 15_000) {
  const md = new grpc.Metadata();
  md.set('x-nerve-engine', 'sleepy');
  const started = Date.now();
  return new Promise<{ code: number; message: string; coldStart: string | undefined; ms: number }>(
    (resolve) => {
      let coldStart: string | undefined;
      const c = client.invoke(
        { operation: 'echo', payload: Buffer.from('hi'), metadata: {} },
        md,
        { deadline: Date.now() + deadlineMs },
        (err) =>
          resolve({ code: err?.code ?? 0, message: err?.details ?? '', coldStart, ms: Date.now() - started }),
      );
      c.on('metadata', (m) => (coldStart = m.get('x-nerve-cold-start')[0]?.toString()));
    },
  );
}

/**
 * Scale to zero and back, end to end: a process engine at zero replicas, a call through a real router
 * held while the control plane (told at once) starts an instance, the call answered and marked, then the
 * engine scaled to zero again once idle.
 */
describe('scale from zero', () => {
  let cp: ControlPlane;
  let router: Router;
  let client: EngineClient;

  beforeAll(async () => {
    cp = await startControlPlane(
      [
        engineSpec(
          processEngine('sleepy', {
            replicas: 0,
            minReplicas: 0,
            maxReplicas: 2,
            autoscale: {
              targetInFlight: 10,
              syncMs: 200,
              scaleDownCooldownMs: 0,
              scaleToZero: { idleMs: 1_500, holdTimeoutMs: 20_000, maxHeldCalls: 50 },
            },
          }),
        ),
      ],
      { runDir: runDir(), summaryWindowMs: 2_000, reportIntervalMs: 200 },
    );
    router = await startRouter(cp, 'zero-router');
    client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
    await waitFor(() => router.state.engine('sleepy'), 'the router to know the engine');
  });

  afterAll(async () => {
    client?.close();
    await router?.stop(500);
    await cp?.stop(1_000);
  });

  it('holds the first calls, starts an instance, answers them marked, and goes back to zero when idle', async () => {
    expect(processes(cp, 'sleepy')).toEqual([]);
    const calls = await Promise.all([call(client), call(client), call(client)]);
    expect(calls.map((c) => [c.code, c.coldStart])).toEqual([
      [0, 'true'],
      [0, 'true'],
      [0, 'true'],
    ]);
    const events = await cp.admin.fleet.events('sleepy');
    const started = events.find((e) => e.kind === 'instance_started')!;
    const ready = events.find((e) => e.kind === 'instance_ready')!;
    const startMs = Date.parse(ready.at) - Date.parse(started.at);
    const firstCall = Math.max(...calls.map((c) => c.ms));
    // Figures for the closing note (the bench measures them properly).
    process.stdout.write(`scale from zero: first call ${firstCall} ms, instance start ${startMs} ms\n`);
    expect(events.map((e) => e.message)).toContainEqual(
      expect.stringMatching(/started from zero: \d+ calls held by router zero-router/),
    );
    // Warm now: no hold, no mark.
    expect(await call(client)).toMatchObject({ code: 0, coldStart: undefined });
    // Idle: the autoscaler stops the last instance, and the router holds again.
    await waitFor(() => processes(cp, 'sleepy').length === 0, 'the engine to scale back to zero', 30_000);
    const reasons =
      internals(cp)
        .autoscaler.state('sleepy')
        ?.decisions.map((d) => d.reason) ?? [];
    expect(reasons).toContainEqual(expect.stringMatching(/^no call for \d+ s .*scaled to zero/));
    // And from zero again.
    expect(await call(client)).toMatchObject({ code: 0, coldStart: 'true' });
  });
});
