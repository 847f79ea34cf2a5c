import { internals } from '../helpers/internals';
import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { startApi, type HttpHandle } from '../../src/api/server';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { DemoEngine } from '../../src/engines/engine-server';
import type { Rollout } from '../../src/model/rollout';
import { parseEngineSpec } from '../../src/model/validate';
import type { Router } from '../../src/router/router';
import { logger, startControlPlane, startRouter } from '../helpers/cluster';
import { Traffic } from '../helpers/fleet';
import { waitFor } from '../helpers/wait';

jest.setTimeout(60_000);

/** Every call takes this long: at 100 calls a second the stable instances are busy (≈ 2 in flight each). */
const DELAY = { delayMs: 40 };

/**
 * Fair verdicts end to end: a canary as fast only because it is idle is inconclusive (and the rollout
 * pauses, never promotes), and a rollout's own synthetic calls bring the evidence and the load.
 */
describe('fair rollout verdicts', () => {
  let cp: ControlPlane;
  let router: Router;
  let api: HttpHandle;
  let client: EngineClient;
  let traffic: Traffic;
  const engines: DemoEngine[] = [];
  const ctx = { actor: 'test', via: 'rest' as const, requestId: 't' };
  const rollout = (id: string) => cp.admin.rollouts.get('shop', id);
  const create = async (body: object) => {
    const res = await fetch(`http://127.0.0.1:${api.port}/api/v1/nerve/engines/shop/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const out = (await res.json()) as { rollout: Rollout };
    if (res.status !== 201) throw new Error(JSON.stringify(out));
    return out.rollout.id;
  };

  async function engine(id: string, version: string): Promise<DemoEngine> {
    const e = await new DemoEngine({
      type: 'echo',
      name: 'shop',
      id,
      version,
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    e.setFaults(DELAY);
    engines.push(e);
    return e;
  }

  async function join(id: string, version: string): Promise<DemoEngine> {
    const e = await engine(id, version);
    await cp.admin.addInstance({ engine: 'shop', id, address: e.address, version }, ctx);
    await waitFor(
      () => router.state.engine('shop')?.cluster.endpoints.some((x) => x.id === id),
      `${id} known to the router`,
    );
    return e;
  }

  beforeAll(async () => {
    const v1 = await Promise.all([engine('v1-a', 'v1'), engine('v1-b', 'v1')]);
    const spec = parseEngineSpec({
      name: 'shop',
      instances: v1.map((e) => ({ id: e.id, address: e.address, version: 'v1' })),
      policy: {
        healthCheck: { intervalMs: 100, timeoutMs: 2_000, healthyThreshold: 1, unhealthyThreshold: 1 },
      },
    });
    if (!spec.ok) throw new Error(spec.errors.join('; '));
    cp = await startControlPlane([spec.value]);
    api = await startApi(cp, logger, '127.0.0.1', 0);
    router = await startRouter(cp, 'verdicts-router');
    client = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
    await waitFor(() => router.state.inRotation('shop').length === 2, 'v1 in rotation');
    traffic = new Traffic(client, 'shop', 100).start();
  });

  afterAll(async () => {
    await traffic?.stop();
    client?.close();
    await router?.stop(500);
    await api?.close();
    await cp?.stop(1_000);
    await Promise.all(engines.map((e) => e.stop(200)));
  });

  it('judges an idle canary beside a busy stable version inconclusive, then pauses: never a promotion', async () => {
    await join('v2-a', 'v2');
    const id = await create({
      version: 'v2',
      steps: [10, 100],
      intervalMs: 1_000,
      analysis: { minRequests: 5, p99SlackMs: 200, maxInconclusiveChecks: 2 },
    });
    const paused = await waitFor(
      () => (rollout(id).state === 'paused' ? rollout(id) : false),
      'the pause',
      15_000,
    );
    const checks = paused.history.filter((h) => h.evidence !== undefined);
    expect(checks.map((h) => h.verdict)).toEqual(['inconclusive', 'inconclusive']);
    const load = checks[0].evidence!.load!;
    expect(load).toMatchObject({ measure: 'in_flight', comparable: false });
    expect(load.stable.inFlightPerInstance).toBeGreaterThanOrEqual(1);
    expect(load.ratio!).toBeLessThan(0.5);
    expect(checks[0].evidence!.reason).toMatch(
      /as fast only at lighter load is no evidence; the step waits$/,
    );
    expect(paused.history.at(-1)!.reason).toMatch(/^inconclusive: 2 checks in a row decided nothing/);
    expect(paused.weight).toBe(10);
    await cp.admin.rollouts.act('shop', id, 'abort', ctx);
    await waitFor(() => !(rollout(id) as { pending?: unknown }).pending, 'the abort taken');
  });

  it('drives its own calls to the canary: enough evidence at a comparable load, then it promotes', async () => {
    await join('v3-a', 'v3');
    const id = await create({
      version: 'v3',
      steps: [10, 100],
      intervalMs: 1_000,
      analysis: {
        minRequests: 20,
        p99SlackMs: 200,
        maxInconclusiveChecks: 5,
        syntheticLoad: { rps: 60, operation: 'echo', payload: 'synthetic' },
      },
    });
    const done = await waitFor(
      () => (['promoted', 'rolled_back', 'paused'].includes(rollout(id).state) ? rollout(id) : false),
      'the end',
      20_000,
    );
    expect(done.state).toBe('promoted');
    const passed = done.history.filter((h) => h.verdict === 'pass');
    expect(passed.map((h) => h.weight)).toEqual([10, 100]);
    const evidence = passed[0].evidence!;
    expect(evidence.synthetic).toBeGreaterThan(20);
    expect(evidence.canary.requests).toBeGreaterThan(evidence.synthetic!); // the routed calls too
    expect(evidence.load!.comparable).toBe(true);
    // The synthetic calls reached the canary itself, not through the router: callers saw none of them.
    const v3 = engines.find((e) => e.id === 'v3-a')!;
    expect(v3.invocations).toBeGreaterThan(evidence.synthetic!);
    expect(
      internals(cp)
        .engines.getNow('shop')!
        .versions.find((v) => v.name === 'v3')!.weight,
    ).toBeGreaterThan(0);
  });
});
