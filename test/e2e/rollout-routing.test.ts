import { internals } from '../helpers/internals';
import * as grpc from '@grpc/grpc-js';
import { EngineClient, type InvokeResponse } from '../../gen/nerve/engine/v1/engine';
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

/**
 * A/B by header or cookie and mirroring, end to end: a control plane, a router and real engines. The
 * canary stays at weight 0 throughout (Flagger's A/B and blue/green-mirroring strategies).
 */
describe('rollouts that route by call: match rules and mirroring', () => {
  let cp: ControlPlane;
  let router: Router;
  let api: HttpHandle;
  let client: EngineClient;
  let traffic: Traffic;
  const engines: DemoEngine[] = [];
  const ctx = { actor: 'test', via: 'rest' as const, requestId: 't' };
  const post = async (path: string, body: unknown = {}) => {
    const res = await fetch(`http://127.0.0.1:${api.port}/api/v1/nerve${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return {
      status: res.status,
      body: (await res.json()) as { rollout: Rollout; error?: { message: string } },
    };
  };
  const rollout = (id: string) => cp.admin.rollouts.get('shop', id);
  const weights = () =>
    Object.fromEntries(
      internals(cp)
        .engines.getNow('shop')!
        .versions.map((v) => [v.name, v.weight]),
    );

  /** One call with these request metadata pairs; resolves to the instance that answered. */
  const call = (pairs: Record<string, string> = {}) =>
    new Promise<InvokeResponse>((resolve, reject) => {
      const md = new grpc.Metadata();
      md.set('x-nerve-engine', 'shop');
      for (const [k, v] of Object.entries(pairs)) md.set(k, v);
      client.invoke(
        { operation: 'echo', payload: Buffer.from('x'), metadata: {} },
        md,
        { deadline: Date.now() + 5_000 },
        (err, res) => (err ? reject(err) : resolve(res)),
      );
    });
  const instancesOf = async (pairs: Record<string, string>, n: number) => {
    const seen = new Set<string>();
    for (let i = 0; i < n; i++) seen.add((await call(pairs)).instanceId);
    return [...seen].sort();
  };

  async function join(id: string, version: string, faults = {}): Promise<DemoEngine> {
    const e = await new DemoEngine({
      type: 'echo',
      name: 'shop',
      id,
      version,
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    e.setFaults(faults);
    engines.push(e);
    await cp.admin.addInstance({ engine: 'shop', id, address: e.address, version }, ctx);
    await waitFor(
      () => router.state.engine('shop')?.cluster.endpoints.some((x) => x.id === id),
      `${id} known to the router`,
    );
    return e;
  }

  beforeAll(async () => {
    const v1 = await Promise.all(
      ['v1-a', 'v1-b'].map((id) =>
        new DemoEngine({
          type: 'echo',
          name: 'shop',
          id,
          version: 'v1',
          host: '127.0.0.1',
          port: 0,
          logger,
        }).start(),
      ),
    );
    engines.push(...v1);
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
    router = await startRouter(cp, 'routing-router');
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

  it('refuses a step of 0 that nothing would reach, and a regex RE2 cannot run', async () => {
    const zero = await post('/engines/shop/rollouts', { version: 'v1', steps: [0] });
    expect(zero.status).toBe(400);
    expect(zero.body.error!.message).toMatch(/a step of 0 sends the canary no call/);
    const backref = await post('/engines/shop/rollouts', {
      version: 'v1',
      steps: [0],
      match: [{ headers: { 'x-user-group': { regex: '(a)\\1' } } }],
    });
    expect(backref.status).toBe(400);
    expect(backref.body.error!.message).toMatch(/match\[0\]\.headers\.x-user-group\.regex: not an RE2/);
  });

  it('sends a beta header or cookie to the canary at weight 0, everyone else to the stable version', async () => {
    await join('v2-a', 'v2');
    const { status, body } = await post('/engines/shop/rollouts', {
      version: 'v2',
      steps: [0],
      intervalMs: 1_500,
      match: [
        { headers: { 'x-user-group': { exact: 'beta' } } },
        { cookie: { canary: { regex: 'always|yes' } } },
      ],
      // Routing is under test here, not load (rollout-verdicts.test.ts): like for like off.
      analysis: { minRequests: 5, p99SlackMs: 200, minLoadRatio: 0 },
    });
    expect(status).toBe(201);
    const id = body.rollout.id;
    await waitFor(() => router.state.engine('shop')?.canary?.rollout === id, 'the match rules on the router');
    expect(weights()).toEqual({ v1: 100, v2: 0 });
    // Calls that match no rule first: the canary has no evidence yet, so it cannot be promoted (and
    // take every call) while they are counted, however slow this machine is.
    expect(await instancesOf({ 'x-user-group': 'gamma' }, 20)).toEqual(['v1-a', 'v1-b']);
    expect(await instancesOf({ cookie: 'canary=never' }, 10)).toEqual(['v1-a', 'v1-b']);
    traffic.reset();
    await waitFor(() => traffic.ok > 50, 'unmarked calls');
    expect(traffic.byInstance.get('v2-a') ?? 0).toBe(0);
    expect(rollout(id).state).toBe('progressing');
    expect(await instancesOf({ 'x-user-group': 'beta' }, 20)).toEqual(['v2-a']);
    expect(await instancesOf({ cookie: 'theme=dark; canary=always' }, 10)).toEqual(['v2-a']);
    // The beta callers' calls are the evidence: judged, then promoted (the only step was 0).
    const beta = setInterval(() => void call({ 'x-user-group': 'beta' }).catch(() => undefined), 20);
    try {
      const r = await waitFor(
        () => (rollout(id).state === 'promoted' ? rollout(id) : false),
        'the promotion',
        15_000,
      );
      const pass = r.history.find((h) => h.verdict === 'pass')!;
      expect(pass.weight).toBe(0);
      expect(pass.evidence!.canary.requests).toBeGreaterThanOrEqual(5);
    } finally {
      clearInterval(beta);
    }
    expect(weights()).toMatchObject({ v1: 0, v2: 100 });
    await waitFor(() => router.state.engine('shop')?.canary === undefined, 'the rules gone with the rollout');
  });

  it('judges a mirrored canary without routing a single caller to it, and callers never see its errors', async () => {
    await join('v3-bad', 'v3', { errorRate: 1, errorCode: grpc.status.INTERNAL });
    const { body } = await post('/engines/shop/rollouts', {
      version: 'v3',
      steps: [0],
      intervalMs: 800,
      mirror: { percent: 50 },
      analysis: { minRequests: 10, failedChecks: 2 },
    });
    const id = body.rollout.id;
    await waitFor(() => router.state.engine('shop')?.canary?.rollout === id, 'mirroring on the router');
    traffic.reset();
    // The router's /clusters says what it mirrors, and how many copies went.
    const view = async () =>
      (
        (await (await fetch(`http://127.0.0.1:${router.adminPort}/clusters`)).json()) as {
          engines: {
            engine: string;
            canary?: { rollout: string; mirrorPercent: number; mirrored: number };
          }[];
        }
      ).engines.find((e) => e.engine === 'shop')?.canary;
    const seen = await waitFor(
      async () => ((await view())?.mirrored ?? 0) > 0 && view(),
      'copies on /clusters',
    );
    expect(seen).toMatchObject({ rollout: id, mirrorPercent: 50 });
    const r = await waitFor(
      () => (rollout(id).state === 'rolled_back' ? rollout(id) : false),
      'the rollback',
      15_000,
    );
    const fails = r.history.filter((h) => h.verdict === 'fail');
    expect(fails).toHaveLength(2);
    expect(fails[0].evidence!.canary.requests).toBeGreaterThanOrEqual(10);
    expect(fails[0].evidence!.canary.errorRate).toBe(1);
    // Every caller was answered by the stable version: not one routed to the canary, none failed.
    expect(traffic.failures).toEqual([]);
    expect(traffic.byInstance.get('v3-bad') ?? 0).toBe(0);
    expect(traffic.ok).toBeGreaterThan(50);
    // The stable instances' circuits never heard of the canary's errors.
    expect(router.state.breakers.instance('shop', 'v2-a')?.admits).toBe(true);
    expect(weights()).toEqual({ v1: 0, v2: 100, v3: 0 });
  });

  it('never makes a caller wait on a hung canary: copies past 64 in flight are skipped', async () => {
    const hung = await join('v5-hung', 'v5', { hang: true });
    const { body } = await post('/engines/shop/rollouts', {
      version: 'v5',
      steps: [0],
      intervalMs: 60_000,
      mirror: { percent: 100 },
    });
    const id = body.rollout.id;
    await waitFor(() => router.state.engine('shop')?.canary?.rollout === id, 'mirroring on the router');
    const canary = () => router.state.engine('shop')!.canary!;
    await waitFor(() => canary().mirrorsSkipped > 0, 'copies skipped at the bound');
    expect(canary().mirrorsInFlight).toBe(64);
    // Every caller is answered by the stable version at once, copies hanging or not.
    traffic.reset();
    const started = Date.now();
    await waitFor(() => traffic.ok >= 50, 'calls answered while the copies hang');
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(traffic.failures).toEqual([]);
    // A canary that goes away releases its copies: nothing stays held for the copies' 60 s.
    hung.kill();
    await waitFor(() => canary().mirrorsInFlight === 0, 'the hung copies released');
    await cp.admin.rollouts.act('shop', id, 'abort', ctx);
    await waitFor(() => router.state.engine('shop')?.canary === undefined, 'mirroring off');
  });

  it('promotes a healthy mirrored canary on the copies alone', async () => {
    await join('v4-good', 'v4');
    const { body } = await post('/engines/shop/rollouts', {
      version: 'v4',
      steps: [0],
      intervalMs: 800,
      mirror: { percent: 20 },
      // Routing is under test here, not load (rollout-verdicts.test.ts): like for like off.
      analysis: { minRequests: 5, p99SlackMs: 200, minLoadRatio: 0 },
    });
    const id = body.rollout.id;
    await waitFor(() => router.state.engine('shop')?.canary?.rollout === id, 'mirroring on the router');
    traffic.reset();
    const r = await waitFor(
      () => (rollout(id).state === 'promoted' ? rollout(id) : false),
      'the promotion',
      15_000,
    );
    expect(r.history.find((h) => h.verdict === 'pass')!.evidence!.canary.requests).toBeGreaterThanOrEqual(5);
    const mirrored = engines.find((e) => e.id === 'v4-good')!;
    expect(mirrored.invocations).toBeGreaterThanOrEqual(5);
  });
});
