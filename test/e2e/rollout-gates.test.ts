import * as http from 'node:http';
import { startApi, type HttpHandle } from '../../src/api/server';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { DemoEngine } from '../../src/engines/engine-server';
import type { Rollout } from '../../src/model/rollout';
import { parseEngineSpec } from '../../src/model/validate';
import { logger, startControlPlane, startRouter } from '../helpers/cluster';
import { hasPrometheus, startPrometheus, type TestPrometheus } from '../helpers/prometheus';
import { withTool } from '../helpers/requires';
import type { Router } from '../../src/router/router';
import { waitFor } from '../helpers/wait';

jest.setTimeout(60_000);

interface Asked {
  readonly gate: string;
  readonly body: {
    name: string;
    namespace: string;
    engine: string;
    version: string;
    phase: string;
    type: string;
    metadata: Record<string, string>;
  };
}

/**
 * A webhook receiver whose answer per gate (the URL's last segment) the test sets: a status, or a list of
 * statuses answered in turn (the last repeats), or `hang` (never answers).
 */
async function gateServer() {
  const asked: Asked[] = [];
  const answers = new Map<string, (number | 'hang')[]>();
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      const gate = req.url!.split('/').pop()!;
      asked.push({ gate, body: JSON.parse(data) as Asked['body'] });
      const list = answers.get(gate) ?? [200];
      const answer = list.length > 1 ? list.shift()! : list[0];
      if (answer === 'hang') return;
      res.writeHead(answer).end(answer >= 300 ? `gate ${gate} says no` : 'ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    url: (gate: string) => `${base}/${gate}`,
    asked,
    answers,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Flagger's webhook gates on a real control plane and REST API, against a local receiver. */
describe('rollout webhook gates', () => {
  let cp: ControlPlane;
  let api: HttpHandle;
  let gates: Awaited<ReturnType<typeof gateServer>>;
  const engines: DemoEngine[] = [];
  const ctx = { actor: 'test', via: 'rest' as const, requestId: 't' };
  const base = () => `http://127.0.0.1:${api.port}/api/v1/nerve`;
  const rollout = (id: string) => cp.admin.rollouts.get('shop', id);

  async function join(id: string, version: string): Promise<void> {
    const e = await new DemoEngine({
      type: 'echo',
      name: 'shop',
      id,
      version,
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    engines.push(e);
    await cp.admin.addInstance({ engine: 'shop', id, address: e.address, version }, ctx);
  }

  async function start(version: string, webhooks: object[], extra: object = {}): Promise<string> {
    const res = await fetch(`${base()}/engines/shop/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        version,
        steps: [50, 100],
        intervalMs: 200,
        // No caller here: a check with no call passes, so the gates alone decide.
        analysis: { noTraffic: 'promote', failedChecks: 2 },
        webhooks,
        ...extra,
      }),
    });
    const body = (await res.json()) as { rollout: Rollout; error?: { message: string } };
    if (res.status !== 201) throw new Error(JSON.stringify(body));
    return body.rollout.id;
  }

  const ended = (id: string) =>
    waitFor(
      () => (['promoted', 'rolled_back', 'aborted'].includes(rollout(id).state) ? rollout(id) : false),
      'the end',
      20_000,
    );

  beforeAll(async () => {
    const v1 = await new DemoEngine({
      type: 'echo',
      name: 'shop',
      id: 'v1-a',
      version: 'v1',
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    engines.push(v1);
    const spec = parseEngineSpec({
      name: 'shop',
      instances: [{ id: 'v1-a', address: v1.address, version: 'v1' }],
    });
    if (!spec.ok) throw new Error(spec.errors.join('; '));
    cp = await startControlPlane([spec.value]);
    api = await startApi(cp, logger, '127.0.0.1', 0);
    gates = await gateServer();
  });

  afterAll(async () => {
    await gates?.close();
    await api?.close();
    await cp?.stop(1_000);
    await Promise.all(engines.map((e) => e.stop(200)));
  });

  it('asks every gate kind with Flagger semantics: confirmations hold, then it promotes and tells post-rollout and events', async () => {
    await join('v2-a', 'v2');
    gates.answers.set('confirm-start', [403, 403, 200]);
    gates.answers.set('confirm-more', [409, 200]);
    gates.answers.set('rollback-ask', [404]);
    const id = await start('v2', [
      {
        name: 'confirm-start',
        type: 'confirm-rollout',
        url: gates.url('confirm-start'),
        metadata: { team: 'shop' },
      },
      { name: 'pre', type: 'pre-rollout', url: gates.url('pre') },
      { name: 'check', type: 'rollout', url: gates.url('check') },
      { name: 'confirm-more', type: 'confirm-traffic-increase', url: gates.url('confirm-more') },
      { name: 'confirm-end', type: 'confirm-promotion', url: gates.url('confirm-end') },
      { name: 'post', type: 'post-rollout', url: gates.url('post') },
      { name: 'rollback-ask', type: 'rollback', url: gates.url('rollback-ask') },
      { name: 'events', type: 'event', url: gates.url('events') },
    ]);
    const r = await ended(id);
    expect(r.state).toBe('promoted');
    await waitFor(
      () => rollout(id).history.some((h) => h.gate?.type === 'post-rollout'),
      'the post-rollout answer',
    );
    const reasons = rollout(id).history.map((h) => `${h.verdict}: ${h.reason ?? ''}`);
    // Each hold is recorded once, however many times the gate was asked.
    expect(
      reasons.filter((x) => x.includes('confirm-rollout gate confirm-start answered HTTP 403')),
    ).toHaveLength(1);
    expect(
      reasons.filter((x) => x.includes('confirm-traffic-increase gate confirm-more answered HTTP 409')),
    ).toHaveLength(1);
    expect(reasons.some((x) => x.startsWith('gate: post-rollout gate post answered HTTP 200'))).toBe(true);
    // The confirm-rollout gate was asked until it said yes, with Flagger's payload and its metadata.
    const confirm = gates.asked.filter((a) => a.gate === 'confirm-start');
    expect(confirm).toHaveLength(3);
    expect(confirm[0].body).toMatchObject({
      name: id,
      namespace: 'shop',
      engine: 'shop',
      version: 'v2',
      phase: 'Initializing',
      type: 'confirm-rollout',
      metadata: { team: 'shop' },
    });
    // A check records every gate it asked, yes or no.
    const checked = rollout(id).history.find((h) => h.verdict === 'no_traffic' && h.gates);
    expect(checked!.gates!.map((g) => [g.name, g.status])).toEqual(
      expect.arrayContaining([
        ['rollback-ask', 404],
        ['check', 200],
      ]),
    );
    const kinds = new Set(gates.asked.map((a) => a.body.type));
    expect([...kinds].sort()).toEqual(
      [
        'confirm-promotion',
        'confirm-rollout',
        'confirm-traffic-increase',
        'event',
        'post-rollout',
        'pre-rollout',
        'rollback',
        'rollout',
      ].sort(),
    );
    expect(gates.asked.find((a) => a.gate === 'post')!.body.phase).toBe('Succeeded');
    await waitFor(
      () =>
        gates.asked.some((a) => a.gate === 'events' && /promoted/.test(a.body.metadata.eventMessage ?? '')),
      'the promotion event',
    );
  });

  it('rolls back when a rollback gate says yes', async () => {
    await join('v3-a', 'v3');
    gates.answers.set('pull', [200]);
    const id = await start('v3', [{ name: 'pull', type: 'rollback', url: gates.url('pull') }]);
    const r = await ended(id);
    expect(r.state).toBe('rolled_back');
    expect(r.history[r.history.length - 1].reason).toBe(
      'rollback gate pull answered HTTP 200: rollback asked',
    );
  });

  it('counts a rollout gate that says no, or does not answer in time, as a failed check', async () => {
    await join('v4-a', 'v4');
    gates.answers.set('slow', ['hang']);
    const id = await start('v4', [
      { name: 'slow', type: 'rollout', url: gates.url('slow'), timeoutMs: 150, retries: 1 },
    ]);
    const r = await ended(id);
    expect(r.state).toBe('rolled_back');
    const fails = r.history.filter((h) => h.verdict === 'fail');
    expect(fails).toHaveLength(2);
    expect(fails[0].reason).toBe('rollout gate slow answered no answer within 150 ms');
    expect(fails[0].gate).toMatchObject({ ok: false, status: 0, attempts: 2 });
  });

  it('refuses a gate of an unknown kind or without a URL, naming the field', async () => {
    const res = await fetch(`${base()}/engines/shop/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: 'v4', webhooks: [{ name: 'x', type: 'confirm-everything' }] }),
    });
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).toMatch(/webhooks.*0.*type/);
    expect(text).toMatch(/webhooks.*0.*url/);
  });

  describe('judged by a real Prometheus scraping the router', () => {
    const prom = withTool(hasPrometheus(), 'prometheus');
    let prometheus: TestPrometheus | undefined;
    let router: Router | undefined;
    const up = 'sum(up{job="router"})';
    const metric = (thresholdRange: object, query = up) => ({
      name: 'router-up',
      prometheus: { address: prometheus!.url, query },
      thresholdRange,
    });
    afterAll(async () => {
      await prometheus?.stop();
      await router?.stop(200);
    });

    prom.it(
      'promotes on a metric within range, rolls back on one outside it, and waits on one without data',
      async () => {
        router = await startRouter(cp, 'prom-router');
        prometheus = await startPrometheus({ router: `127.0.0.1:${router.adminPort}` });
        await waitFor(async () => (await prometheus!.value(up)) === 1, 'the router scraped', 20_000);

        await join('v5-a', 'v5');
        const good = await start('v5', [], {
          analysis: { noTraffic: 'promote', metrics: [metric({ min: 1 })] },
        });
        const promoted = await ended(good);
        expect(promoted.state).toBe('promoted');
        const passed = promoted.history.find((h) => h.evidence?.metrics);
        expect(passed!.evidence!.metrics![0]).toMatchObject({ name: 'router-up', value: 1, verdict: 'pass' });

        await join('v6-a', 'v6');
        const bad = await start('v6', [], {
          analysis: { noTraffic: 'promote', failedChecks: 2, metrics: [metric({ max: 0.5 })] },
        });
        const rolled = await ended(bad);
        expect(rolled.state).toBe('rolled_back');
        expect(rolled.history.filter((h) => h.verdict === 'fail')[0].evidence!.reason).toBe(
          'router-up 1 above max 0.5',
        );

        await join('v7-a', 'v7');
        const none = await start('v7', [], {
          analysis: {
            noTraffic: 'promote',
            metrics: [metric({ max: 1 }, 'sum(nerve_router_requests_total{engine="{{ engine }}-nowhere"})')],
          },
        });
        const waiting = await waitFor(
          () => rollout(none).history.find((h) => h.verdict === 'inconclusive'),
          'an inconclusive check',
        );
        expect(waiting.evidence!.reason).toBe('router-up: no data: the step waits');
        expect(rollout(none).state).toBe('progressing');
        await cp.admin.rollouts.act('shop', none, 'abort', ctx);
        await waitFor(() => !(rollout(none) as { pending?: unknown }).pending, 'the abort taken');
      },
      60_000,
    );

    prom.it(
      "judges Argo's success and failure conditions, tolerates failureLimit, and pauses when nothing is decided",
      async () => {
        const argo = (conditions: object, more: object = {}) => ({
          name: 'router-up',
          prometheus: { address: prometheus!.url, query: up },
          ...conditions,
          ...more,
        });
        await join('v8-a', 'v8');
        const good = await start('v8', [], {
          analysis: {
            noTraffic: 'promote',
            metrics: [argo({ successCondition: 'result[0] >= 1', failureCondition: 'result[0] > 5' })],
          },
        });
        const promoted = await ended(good);
        expect(promoted.state).toBe('promoted');
        expect(promoted.history.find((h) => h.evidence?.metrics)!.evidence!.metrics![0].reason).toBe(
          'router-up 1 meets successCondition `result[0] >= 1`',
        );

        // The first failed measurement is tolerated (the weight goes on), the second fails the check.
        await join('v9-a', 'v9');
        const limited = await start('v9', [], {
          steps: [10, 50, 100],
          analysis: {
            noTraffic: 'promote',
            failedChecks: 1,
            metrics: [argo({ failureCondition: 'result >= 1' }, { failureLimit: 1 })],
          },
        });
        const rolled = await ended(limited);
        expect(rolled.state).toBe('rolled_back');
        const judged = rolled.history.filter((h) => h.evidence?.metrics);
        expect(judged.map((h) => [h.weight, h.verdict])).toEqual([
          [10, 'no_traffic'], // no caller here: noTraffic promote lets the weight go on
          [50, 'fail'],
        ]);
        expect(judged[0].evidence!.metrics![0]).toMatchObject({
          verdict: 'fail',
          tolerated: true,
          reason: 'router-up 1 meets failureCondition `result >= 1` (failure 1 of 1 tolerated)',
        });

        // Between its conditions, checks decide nothing: after maxInconclusiveChecks the rollout pauses.
        await join('v10-a', 'v10');
        const between = await start('v10', [], {
          analysis: {
            noTraffic: 'promote',
            maxInconclusiveChecks: 2,
            metrics: [argo({ successCondition: 'result > 5', failureCondition: 'result < 0' })],
          },
        });
        const paused = await waitFor(
          () => (rollout(between).state === 'paused' ? rollout(between) : false),
          'the inconclusive pause',
        );
        expect(paused.history.map((h) => h.verdict)).toEqual([
          'started',
          'inconclusive',
          'inconclusive',
          'inconclusive',
        ]);
        expect(paused.history.at(-1)!.reason).toMatch(
          /^inconclusive: 2 checks in a row decided nothing \(last: router-up 1 meets neither/,
        );
        expect(paused.weight).toBe(50); // held where it was: neither promoted nor rolled back
        await cp.admin.rollouts.act('shop', between, 'abort', ctx);
      },
      60_000,
    );
  });
});
