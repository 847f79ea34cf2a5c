import { internals } from '../helpers/internals';
import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { startApi, type HttpHandle } from '../../src/api/server';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import type { ScaleDecision } from '../../src/model/fleet/autoscale';
import { parseEngineSpec } from '../../src/model/validate';
import type { Router } from '../../src/router/router';
import { invoke, logger, startControlPlane, startRouter } from '../helpers/cluster';
import { processEngine, processes, runDir, waitServing } from '../helpers/fleet';
import { waitFor } from '../helpers/wait';

jest.setTimeout(90_000);

describe('autoscaling end to end', () => {
  let cp: ControlPlane;
  let router: Router;
  let api: HttpHandle;
  let client: EngineClient;

  beforeAll(async () => {
    const spec = parseEngineSpec(
      processEngine(
        'slow',
        {
          minReplicas: 1,
          maxReplicas: 4,
          autoscale: { targetInFlight: 2, syncMs: 300, scaleDownCooldownMs: 2_000, tolerance: 0.1 },
        },
        ['--fault-delay-ms', '150'],
      ),
    );
    if (!spec.ok) throw new Error(spec.errors.join('; '));
    cp = await startControlPlane([spec.value], { runDir: runDir() });
    api = await startApi(cp, logger, '127.0.0.1', 0);
    router = await startRouter(cp, 'autoscale-router');
    client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
    await waitServing(cp, 'slow', 1);
    await waitFor(() => router.state.inRotation('slow').length === 1, 'the router to route to it');
  });

  afterAll(async () => {
    client?.close();
    await router?.stop(500);
    await api?.close();
    await cp?.stop(1_000);
  });

  it('scales a slow engine up under load and back down when the load stops, explaining each decision', async () => {
    // Eight callers in a closed loop: eight calls in flight, four times the target per instance.
    let running = true;
    const failures: string[] = [];
    const workers = Array.from({ length: 8 }, async () => {
      while (running)
        await invoke(client, 'slow', 'echo', 'x').catch((e: grpc.ServiceError) =>
          failures.push(`${e.code} ${e.details}`),
        );
    });
    await waitFor(
      () => (internals(cp).engines.getNow('slow')?.runtime?.replicas ?? 1) >= 3,
      'a scale-up',
      30_000,
    );
    await waitServing(cp, 'slow', internals(cp).engines.getNow('slow')!.runtime!.replicas!, 30_000);
    running = false;
    await Promise.all(workers);
    expect(failures).toEqual([]);
    await waitFor(
      () => internals(cp).engines.getNow('slow')?.runtime?.replicas === 1,
      'the scale-down to the minimum',
      30_000,
    );
    await waitFor(() => processes(cp, 'slow').length === 1, 'one process left', 20_000);
    const res = await fetch(`http://127.0.0.1:${api.port}/api/v1/nerve/engines/slow`);
    const view = (await res.json()) as {
      engine: { runtime: { autoscale: ScaleDecision[]; events: { kind: string; message: string }[] } };
    };
    const decisions = view.engine.runtime.autoscale;
    expect(decisions.length).toBeGreaterThan(0);
    for (const d of decisions)
      expect(d).toEqual(
        expect.objectContaining({ metric: 'inFlight', target: 2, reason: expect.any(String) }),
      );
    const ups = internals(cp)
      .fleetEvents.list('slow')
      .filter((e) => e.kind === 'scaled' && /autoscaled 1 →/.test(e.message));
    expect(ups).toHaveLength(1);
    expect(ups[0].message).toMatch(/in-flight per instance [\d.]+ vs target 2/);
    expect(
      internals(cp)
        .fleetEvents.list('slow')
        .some((e) => e.kind === 'scaled' && / → 1:/.test(e.message)),
    ).toBe(true);
    // Every decision went out on the live feed's events topic too.
    const fed = cp.feed
      .since(0)!
      .filter((m) => m.topic === 'events')
      .map((m) => (JSON.parse(m.json) as { data: { kind: string; reason?: string } }).data)
      .filter((d) => d.kind === 'autoscale_decision');
    expect(fed.length).toBeGreaterThanOrEqual(decisions.length);
    expect(fed[0].reason).toEqual(expect.any(String));
    // The history says who changed the size and why.
    const history = await cp.admin.config.history(50);
    expect(history.versions.some((v) => v.actor === 'autoscaler')).toBe(true);
  });

  it('refuses a manual scale of an autoscaled engine naming the autoscaler; forced, holds it for the cooldown', async () => {
    await waitFor(
      () => (internals(cp).engines.getNow('slow')?.runtime?.replicas ?? 1) === 1,
      'at the minimum',
    );
    const scale = (query = '') =>
      fetch(`http://127.0.0.1:${api.port}/api/v1/nerve/engines/slow/scale${query}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ replicas: 2 }),
      });
    const refused = await scale();
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toMatch(
      /scaled by its autoscaler .* \?force=true to hold 2 replicas for its scale-down cooldown \(2000 ms\)/,
    );
    const forced = await scale('?force=true');
    expect(forced.status).toBe(200);
    const { pinnedUntil } = (await forced.json()) as { pinnedUntil: string };
    expect(internals(cp).engines.getNow('slow')?.runtime?.replicas).toBe(2);
    // No load: once the hold ends, the autoscaler takes it back to the minimum, not before.
    await waitFor(
      () => internals(cp).engines.getNow('slow')?.runtime?.replicas === 1,
      'back to the minimum',
      20_000,
    );
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(pinnedUntil));
  });

  it('in dry run decides and reports without changing anything', async () => {
    await cp.admin.specs.patch(
      'slow',
      { runtime: { autoscale: { dryRun: true, syncMs: 200 } } } as never,
      undefined,
      {
        actor: 'test',
        via: 'rest',
        requestId: 't',
      },
    );
    let running = true;
    const workers = Array.from({ length: 8 }, async () => {
      while (running) await invoke(client, 'slow', 'echo', 'x').catch(() => undefined);
    });
    const dry = await waitFor(
      () =>
        internals(cp)
          .fleetEvents.list('slow')
          .find((e) => e.kind === 'autoscale' && /dry run: would scale 1 →/.test(e.message)),
      'a dry-run decision',
      20_000,
    );
    running = false;
    await Promise.all(workers);
    expect(dry.message).toMatch(/would scale 1 → [2-4]/);
    expect(internals(cp).engines.getNow('slow')?.runtime?.replicas).toBe(1);
  });
});
