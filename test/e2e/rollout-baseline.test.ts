import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import type { Rollout } from '../../src/model/rollout';
import type { Router } from '../../src/router/router';
import { engineSpec, invoke, startControlPlane, startRouter } from '../helpers/cluster';
import { processEngine, processes, runDir } from '../helpers/fleet';
import { internals } from '../helpers/internals';
import { waitFor } from '../helpers/wait';

jest.setTimeout(90_000);

const ctx = { actor: 'test', via: 'rest' as const, requestId: 't' };

/**
 * A baseline (Argo's Experiment), end to end on the process driver: fresh replicas of the stable
 * version beside the canary, as many as its and at its share, and the canary judged against them.
 */
describe('a rollout judged against a baseline', () => {
  let cp: ControlPlane;
  let router: Router;
  let client: EngineClient;

  beforeAll(async () => {
    cp = await startControlPlane(
      [
        engineSpec({
          ...processEngine('based', { replicas: 3, maxReplicas: 4, version: 'v1' }, [
            '--version',
            '{version}',
          ]),
          versions: [
            { name: 'v1', weight: 100 },
            { name: 'v2', weight: 0 },
          ],
        }),
      ],
      { runDir: runDir(), reportIntervalMs: 200 },
    );
    router = await startRouter(cp, 'baseline-router');
    client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
    await waitFor(() => processes(cp, 'based', 'running').length === 3, 'three v1 instances', 20_000);
    await waitFor(() => router.state.inRotation('based').length === 3, 'routed');
  });

  afterAll(async () => {
    client?.close();
    await router?.stop(500);
    await cp?.stop(1_000);
  });

  /** Running replicas per version label, from the shared process records. */
  const running = () => {
    const counts: Record<string, number> = {};
    for (const p of [...internals(cp).store.shared('processes').values()] as unknown as {
      engine: string;
      version: string;
      state: string;
    }[])
      if (p.engine === 'based' && p.state === 'running') counts[p.version] = (counts[p.version] ?? 0) + 1;
    return counts;
  };

  it('refuses a baseline for an engine it cannot start replicas of, and steps above 50', async () => {
    await cp.admin.specs.create(
      {
        name: 'plain',
        versions: [
          { name: 'v1', weight: 100 },
          { name: 'v2', weight: 0 },
        ],
        instances: [{ id: 'p1', address: '127.0.0.1:1', version: 'v1' }],
      },
      ctx,
    );
    await expect(
      cp.admin.rollouts.create('plain', { version: 'v2', analysis: { baseline: true } }, ctx),
    ).rejects.toThrow(/a baseline needs engine "plain" to run on the process driver/);
    await expect(
      cp.admin.rollouts.create(
        'based',
        { version: 'v2', steps: [25, 75], analysis: { baseline: true } },
        ctx,
      ),
    ).rejects.toThrow(/steps\[1\]: with a baseline, steps go up to 50/);
  });

  it('runs fresh stable replicas at the canary share, judges the canary against them, and promotes', async () => {
    const r = await cp.admin.rollouts.create(
      'based',
      {
        version: 'v2',
        steps: [25],
        // Long enough for the canary's and the baseline's processes to start on a loaded machine.
        intervalMs: 2_500,
        analysis: { baseline: true, minRequests: 5, p99SlackMs: 200, maxInconclusiveChecks: 5 },
      },
      ctx,
    );
    const calls = setInterval(() => {
      void invoke(client, 'based', 'echo', 'x').catch(() => undefined);
    }, 5);
    const answeredBy = new Map<string, string>();
    try {
      await waitFor(
        () => running().v2 === 1 && running()['v1+baseline'] === 1,
        'one canary and one baseline replica',
        20_000,
      );
      const versions = Object.fromEntries(
        internals(cp)
          .engines.getNow('based')!
          .versions.map((v) => [v.name, v.weight]),
      );
      // The canary and its baseline each take 25 %: the stable replicas keep the rest.
      expect(versions).toEqual({ v1: 100, v2: 50, 'v1+baseline': 50 });
      // The baseline's replica runs the stable version's code.
      await waitFor(async () => {
        const res = await invoke(client, 'based', 'echo', 'x');
        answeredBy.set(res.instanceId, res.version);
        const baseline = internals(cp)
          .engines.getNow('based')!
          .instances.find((i) => i.version === 'v1+baseline');
        return baseline !== undefined && answeredBy.has(baseline.id);
      }, 'an answer from the baseline');
      const done = await waitFor(
        () => {
          const x: Rollout = cp.admin.rollouts.get('based', r.id);
          return ['promoted', 'rolled_back', 'paused'].includes(x.state) ? x : false;
        },
        'the end',
        30_000,
      );
      expect(done.state).toBe('promoted');
      const pass = done.history.find((h) => h.verdict === 'pass')!;
      expect(pass.evidence!.comparedWith).toBe('v1+baseline');
      expect(pass.evidence!.stable.requests).toBeGreaterThanOrEqual(5); // the baseline's calls
      expect(pass.evidence!.load!.stable.instances).toBe(1);
    } finally {
      clearInterval(calls);
    }
    const baselineIds = internals(cp)
      .engines.getNow('based')!
      .instances.filter((i) => i.version === 'v1+baseline')
      .map((i) => i.id);
    for (const id of baselineIds) expect(answeredBy.get(id) ?? 'v1').toBe('v1');
    await waitFor(
      () => running().v2 === 3 && !running().v1 && !running()['v1+baseline'],
      'three v2 replicas, no v1 and no baseline',
      30_000,
    );
    expect(internals(cp).engines.getNow('based')!.runtime).toMatchObject({ version: 'v2', replicas: 3 });
    expect(internals(cp).engines.getNow('based')!.runtime!.baseline).toBeUndefined();
  });
});
