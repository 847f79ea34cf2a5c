import * as grpc from '@grpc/grpc-js';
import { spawnSync } from 'node:child_process';
import { CircuitState } from '../../gen/nerve/discovery/v1/resources';
import type { Router } from '../../src/router/router';
import { invoke, invokeError, spread, TestCluster } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

const { CIRCUIT_STATE_CLOSED: CLOSED, CIRCUIT_STATE_OPEN: OPEN } = CircuitState;

/** Breakers that trip after 5 calls at ≥ 50 % failures; no retries or ejections, so the breaker acts alone. */
const breaking = (openMs: number) => ({
  retry: { maxAttempts: 1 },
  outlier: { consecutiveErrors: 0 },
  breaker: { failureRateThreshold: 50, minimumCalls: 5, windowSize: 10, openMs, halfOpenPermits: 2 },
});

/** Calls through a client until `done` holds, ignoring call errors (they are what trips the breaker). */
async function callUntil(
  client: ReturnType<TestCluster['engineClient']>,
  engine: string,
  done: () => boolean,
  what: string,
): Promise<void> {
  await waitFor(async () => {
    await invoke(client, engine, 'echo', 'x').catch(() => undefined);
    return done();
  }, what);
}

const stateOf = (router: Router, engine: string, instance: string) =>
  router.state.breakers.instance(engine, instance).state;

describe('circuit breakers', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start([
      { name: 'flaky', type: 'echo', instances: 3, policy: breaking(400) },
      { name: 'held', type: 'echo', instances: 2, policy: breaking(60_000) },
      {
        name: 'primary',
        type: 'echo',
        instances: 1,
        policy: { ...breaking(60_000), fallbackEngines: ['spare'] },
      },
      { name: 'spare', type: 'echo', instances: 1 },
      { name: 'fragile', type: 'echo', instances: 1, policy: { degraded: { payload: 'cached answer' } } },
      { name: 'panicky', type: 'echo', instances: 4, policy: { panicThreshold: 50 } },
      {
        name: 'churn',
        type: 'echo',
        instances: 3,
        policy: {
          breaker: {
            failureRateThreshold: 50,
            minimumCalls: 5,
            windowSize: 10,
            openMs: 100,
            halfOpenPermits: 2,
          },
          hedging: { maxAttempts: 2, delayMs: 5, methods: ['/nerve.engine.v1.Engine/Invoke'] },
        },
      },
      {
        name: 'sr',
        type: 'echo',
        instances: 5,
        policy: {
          retry: { maxAttempts: 1 },
          breaker: { failureRateThreshold: 0 },
          outlier: { consecutiveErrors: 0, intervalMs: 500, successRateRequestVolume: 10 },
        },
      },
    ]);
  });
  afterAll(async () => cluster?.stop());

  it('opens an instance circuit on failures, takes it out, probes it half-open and closes it', async () => {
    const client = cluster.engineClient();
    const router = cluster.router;
    cluster.engines.get('flaky-1')!.setFaults({ errorRate: 1, errorCode: grpc.status.INTERNAL });
    await callUntil(client, 'flaky', () => stateOf(router, 'flaky', 'flaky-1') === OPEN, 'flaky-1 open');
    expect(router.state.breakers.instance('flaky', 'flaky-1').reason).toMatch(
      /^failure rate 100 % ≥ 50 % over the last 5 calls; open for 400 ms \(trip 1\)$/,
    );
    expect(cluster.routable('flaky')).toEqual(['flaky-2', 'flaky-3']);
    // The router's admin page says which instance is out of rotation and why.
    const view = (await (await fetch(`http://127.0.0.1:${router.adminPort}/clusters`)).json()) as {
      engines: {
        engine: string;
        instances: { id: string; inRotation: boolean; circuit: object; reasons: string[] }[];
      }[];
    };
    const flaky = view.engines.find((e) => e.engine === 'flaky')!.instances;
    expect(flaky.map((i) => i.reasons)).toEqual([
      [expect.stringMatching(/^circuit open: failure rate 100 % ≥ 50 % over the last 5 calls/)],
      [],
      [],
    ]);
    expect(flaky.map((i) => [i.id, i.inRotation])).toEqual([
      ['flaky-1', false],
      ['flaky-2', true],
      ['flaky-3', true],
    ]);
    expect(flaky[0].circuit).toMatchObject({
      state: 'open',
      trips: 1,
      reason: expect.stringMatching(/^failure rate 100 %/),
    });
    // /config says health in the same words as /clusters, not as enum numbers.
    const config = await (await fetch(`http://127.0.0.1:${router.adminPort}/config`)).text();
    expect(config).toMatch(/"health": "healthy"/);
    expect(config).not.toMatch(/"health": \d/);
    // Still failing at the probe: reopens for twice as long.
    await callUntil(
      client,
      'flaky',
      () => router.state.breakers.instance('flaky', 'flaky-1').trips === 2,
      'a second trip',
    );
    expect(router.state.breakers.instance('flaky', 'flaky-1').reason).toMatch(
      /of 2 probe calls; open for 800 ms \(trip 2\)/,
    );

    const metrics = await (await fetch(`http://127.0.0.1:${router.adminPort}/metrics`)).text();
    expect(metrics).toMatch(
      /nerve_router_circuit_state\{engine="flaky",instance="flaky-1",state="open",router="test-router"\} 1/,
    );
    expect(metrics).toMatch(
      /nerve_router_circuit_transitions_total\{engine="flaky",instance="flaky-1",state="open",router="test-router"\} 2/,
    );
    expect(metrics).toMatch(
      /nerve_router_request_duration_seconds_count\{engine="flaky",instance="flaky-2",router="test-router"\} [1-9]/,
    );
    expect(metrics).toMatch(
      /nerve_router_request_duration_seconds_bucket\{engine="flaky",instance="flaky-2",le="\+Inf",router="test-router"\} [1-9]/,
    );
    // Prometheus's own linter accepts the page, but for three gauges prom-client's default metrics name
    // with a _total suffix (its naming, kept so standard Node.js dashboards work).
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: metrics, encoding: 'utf8' });
    const complaints = (lint.stdout + lint.stderr)
      .split('\n')
      .filter(
        (l) =>
          l !== '' && !/^nerve_router_nodejs_active_(handles|requests|resources)_total non-counter/.test(l),
      );
    expect(complaints).toEqual([]);
    expect(lint.error).toBeUndefined();
    // The control plane heard of it and shows it.
    await waitFor(async () => {
      const res = await fetch(`${cluster.apiBase}/circuit-breakers?engine=flaky`);
      const body = (await res.json()) as {
        engines: { instances: { id: string; state: string; routers: object }[] }[];
      };
      const c = body.engines[0].instances.find((i) => i.id === 'flaky-1');
      return c?.state === 'open' && JSON.stringify(c.routers) === '{"test-router":"open"}';
    }, 'the control plane to show flaky-1 open');

    cluster.engines.get('flaky-1')!.setFaults({});
    await callUntil(
      client,
      'flaky',
      () => stateOf(router, 'flaky', 'flaky-1') === CLOSED,
      'flaky-1 closed again',
    );
    expect(router.state.breakers.instance('flaky', 'flaky-1').reason).toBe('2 probe calls passed');
    await waitFor(() => cluster.routable('flaky').length === 3, 'flaky-1 back in rotation');
    // A router serving with every circuit closed still counts as reporting them.
    await waitFor(async () => {
      for (let i = 0; i < 6; i++) await invoke(client, 'flaky', 'echo', 'x').catch(() => undefined);
      const res = await fetch(`${cluster.apiBase}/circuit-breakers?engine=flaky`);
      const body = (await res.json()) as {
        engines: {
          circuit: { reporters: number };
          instances: { id: string; state: string; reporters: number }[];
        }[];
      };
      const [engine] = body.engines;
      return (
        engine.circuit.reporters === 1 &&
        engine.instances.every((i) => i.state === 'closed' && i.reporters === 1)
      );
    }, 'closed circuits reported by the one router serving');
  });

  it('opens a circuit on every router when most routers have it open', async () => {
    const r2 = await cluster.addRouter('router-2');
    const r3 = await cluster.addRouter('router-3');
    // Every router calls held-2 successfully: each has an opinion (closed) at the control plane.
    for (const r of [cluster.router, r2, r3]) await spread(cluster.clientOf(r), 'held', 4);
    const heldView = async () => {
      const [view] = (await cluster.adminClient().listCircuits({ engine: 'held' })).engines;
      return view.instances.find((i) => i.instanceId === 'held-2')!;
    };
    await waitFor(async () => (await heldView()).reporters === 3, 'three routers reporting held-2');

    cluster.engines.get('held-2')!.setFaults({ errorRate: 1, errorCode: grpc.status.INTERNAL });
    const trip = (r: Router) =>
      callUntil(cluster.clientOf(r), 'held', () => stateOf(r, 'held', 'held-2') === OPEN, 'held-2 open');
    await trip(cluster.router);
    await waitFor(async () => (await heldView()).routers['test-router'] === OPEN, 'the open reported');
    // 1 of 3 is not most: the others keep it closed.
    expect(await heldView()).toMatchObject({ state: CLOSED, openOn: 1, reporters: 3 });
    expect(stateOf(r3, 'held', 'held-2')).toBe(CLOSED);

    await trip(r2);
    // router-3 has not seen held-2 fail, yet opens it: the control plane pushed the global state.
    await waitFor(() => stateOf(r3, 'held', 'held-2') === OPEN, 'held-2 open on router-3');
    expect(r3.state.breakers.instance('held', 'held-2').reason).toMatch(
      /^open on 2 of 3 routers \(control plane\); open for 60000 ms/,
    );
    const listed = await cluster.adminClient().listCircuits({ engine: 'held' });
    // Live counts: router-3 may already report the open it was pushed.
    const held2 = listed.engines[0].instances.find((i) => i.instanceId === 'held-2')!;
    expect(held2).toMatchObject({ state: OPEN, reporters: 3 });
    expect(held2.openOn).toBeGreaterThanOrEqual(2);

    // A manual reset closes it everywhere, by instance id (REST) …
    cluster.engines.get('held-2')!.setFaults({});
    const res = await fetch(`${cluster.apiBase}/circuit-breakers/held-2/reset`, { method: 'POST' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      instances: { id: string; state: string; lastReset: string | null }[];
    };
    expect(body.instances.find((i) => i.id === 'held-2')).toMatchObject({
      state: 'closed',
      lastReset: expect.any(String),
    });
    const routers = [cluster.router, r2, r3];
    await waitFor(
      () => routers.every((r) => stateOf(r, 'held', 'held-2') === CLOSED),
      'held-2 closed on every router',
    );
    await expect(spread(cluster.clientOf(r3), 'held', 20)).resolves.toEqual({ 'held-1': 10, 'held-2': 10 });
    // … and stays closed: once every router has reported since the reset (their reports from before it,
    // with held-2 open, no longer count), the global state is still closed.
    await waitFor(async () => {
      const [view] = (await cluster.adminClient().listCircuits({ engine: 'held' })).engines;
      const c = view.instances.find((i) => i.instanceId === 'held-2')!;
      return Object.keys(c.routers).length === 3 && Object.values(c.routers).every((st) => st === CLOSED);
    }, 'every router to report held-2 closed');
    const [after] = (await cluster.adminClient().listCircuits({ engine: 'held' })).engines;
    expect(after.instances.find((i) => i.instanceId === 'held-2')!.state).toBe(CLOSED);
    expect(routers.map((r) => stateOf(r, 'held', 'held-2'))).toEqual([CLOSED, CLOSED, CLOSED]);

    const unknown = await fetch(`${cluster.apiBase}/circuit-breakers/nope/reset`, { method: 'POST' });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: { message: string } }).error.message).toBe(
      'no engine and no instance named "nope"',
    );
  });

  it('sends calls to the fallback engine while the engine-wide circuit is open, and says so when none can serve', async () => {
    const client = cluster.engineClient();
    cluster.engines.get('primary-1')!.setFaults({ errorRate: 1, errorCode: grpc.status.INTERNAL });
    await callUntil(
      client,
      'primary',
      () => cluster.router.state.breakers.engine('primary').state === OPEN,
      'primary engine circuit open',
    );
    cluster.engines.get('primary-1')!.setFaults({});
    expect(await invoke(client, 'primary', 'echo', 'x')).toMatchObject({ engine: 'spare' });

    await cluster.cp.admin.drainInstance('spare', 'spare-1');
    await waitFor(() => cluster.routable('spare').length === 0, 'spare out of rotation');
    const err = await invokeError(client, 'primary', 'echo');
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toMatch(
      /^engine "primary" circuit is open \(failure rate 100 % ≥ 80 % over the last 5 calls; open for 60000 ms \(trip 1\)\); engine "spare" has no healthy instance \(1 draining\)$/,
    );

    // gRPC ResetCircuit on the engine closes the engine-wide circuit and its instances'.
    await cluster.adminClient().resetCircuit({ engine: 'primary', instanceId: '' });
    await waitFor(() => cluster.router.state.breakers.engine('primary').state === CLOSED, 'primary closed');
    expect(await invoke(client, 'primary', 'echo', 'x')).toMatchObject({ engine: 'primary' });
  });

  it('answers with the configured degraded response when nothing can serve', async () => {
    await cluster.cp.admin.drainInstance('fragile', 'fragile-1');
    await waitFor(() => cluster.routable('fragile').length === 0, 'fragile out of rotation');
    const client = cluster.engineClient();
    const md = new grpc.Metadata();
    md.set('x-nerve-engine', 'fragile');
    const { response, headers } = await new Promise<{
      response: { payload: Buffer; version: string; engine: string };
      headers: grpc.Metadata;
    }>((resolve, reject) => {
      let headers = new grpc.Metadata();
      const call = client.invoke(
        { operation: 'echo', payload: Buffer.from('x'), metadata: {} },
        md,
        (err, response) => (err ? reject(err) : resolve({ response: response!, headers })),
      );
      call.on('metadata', (m) => (headers = m));
    });
    expect(response.payload.toString()).toBe('cached answer');
    expect(response).toMatchObject({ engine: 'fragile', version: 'degraded' });
    expect(headers.get('x-nerve-degraded')).toEqual(['true']);
    // The REST view shows the configured bytes as base64.
    const view = (await (await fetch(`${cluster.apiBase}/engines/fragile`)).json()) as {
      engine: { policy: { degraded: unknown } };
    };
    expect(view.engine.policy.degraded).toEqual({
      enabled: true,
      payload: Buffer.from('cached answer').toString('base64'),
    });
  });

  it('panics below the panic threshold: balances over every instance, healthy or not', async () => {
    const client = cluster.engineClient();
    for (const id of ['panicky-1', 'panicky-2']) cluster.engines.get(id)!.setServing(false);
    await waitFor(
      () => cluster.routable('panicky').length === 2,
      'two instances out (50 % healthy is not below 50 %)',
    );
    cluster.engines.get('panicky-3')!.setServing(false);
    await waitFor(() => cluster.routable('panicky').length === 4, 'panic: all four in');
    const counts = await spread(client, 'panicky', 40);
    expect(Object.keys(counts).sort()).toEqual(['panicky-1', 'panicky-2', 'panicky-3', 'panicky-4']);
  });

  it('never leaves a circuit stuck: cancels, deadlines, hedges and failures during trips all give permits back', async () => {
    const client = cluster.engineClient();
    const md = new grpc.Metadata();
    md.set('x-nerve-engine', 'churn');
    cluster.engines
      .get('churn-1')!
      .setFaults({ errorRate: 0.8, errorCode: grpc.status.INTERNAL, delayMs: 3 });
    cluster.engines.get('churn-2')!.setFaults({ delayMs: 8 });
    // At least 1.5 s of churn, and on until churn-1 has been probed half-open (a slow machine gets there
    // later), within 15 s.
    const halfOpens = () =>
      cluster.router.state.breakers.transitions.get('churn/churn-1/CIRCUIT_STATE_HALF_OPEN') ?? 0;
    const started = Date.now();
    const churning = () =>
      Date.now() - started < 1_500 || (halfOpens() === 0 && Date.now() - started < 15_000);
    let calls = 0;
    await Promise.all(
      Array.from({ length: 8 }, async (_, worker) => {
        while (churning()) {
          calls++;
          await new Promise<void>((resolve) => {
            const call = client.invoke(
              { operation: 'echo', payload: Buffer.from('x'), metadata: {} },
              md,
              { deadline: Date.now() + 2 + ((calls * 7 + worker) % 30) },
              () => resolve(),
            );
            if (calls % 5 === 0) setTimeout(() => call.cancel(), (calls % 4) + 1);
          });
        }
      }),
    );
    expect(calls).toBeGreaterThan(200);
    // It did go through trips and probes.
    expect(halfOpens()).toBeGreaterThan(0);
    for (const id of ['churn-1', 'churn-2']) cluster.engines.get(id)!.setFaults({});
    // Healthy again: every circuit of the engine closes, nothing is left in flight.
    const breakers = ['churn-1', 'churn-2', 'churn-3'].map((id) =>
      cluster.router.state.breakers.instance('churn', id),
    );
    await callUntil(
      client,
      'churn',
      () =>
        breakers.every((b) => b.state === CLOSED) &&
        cluster.router.state.breakers.engine('churn').state === CLOSED,
      'every churn circuit closed',
    );
    const stats = [...cluster.router.state.allStats()].filter((s) => s.engine === 'churn');
    await waitFor(() => stats.every((s) => s.inFlight === 0), 'nothing in flight');
    expect(cluster.router.state.admission('churn')!.inFlight).toBe(0);
    // Every retry and hedge gave its budget slot back.
    expect(cluster.router.state.engine('churn')!.retry.budget.retriesInProgress).toBe(0);
  });

  it('ejects an instance whose success rate is far below its peers', async () => {
    const client = cluster.engineClient();
    cluster.engines.get('sr-5')!.setFaults({ errorRate: 1, errorCode: grpc.status.INTERNAL });
    const stats = [...cluster.router.state.allStats()].find((s) => s.instanceId === 'sr-5')!;
    await callUntil(client, 'sr', () => stats.ejections > 0, 'sr-5 ejected by success rate');
    expect(cluster.routable('sr')).toEqual(['sr-1', 'sr-2', 'sr-3', 'sr-4']);
    expect(stats.ejections).toBe(1);
    expect(stats.consecutiveFailures).toBeGreaterThanOrEqual(10);
  });
});
