import * as grpc from '@grpc/grpc-js';
import { AdminClient, type ExplainEngineAtResponse } from '../../gen/nerve/admin/v1/admin';
import { startApi } from '../../src/api/server';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { engineSpec, logger, startControlPlane } from '../helpers/cluster';
import { internals } from '../helpers/internals';
import { instanceLoad, routerReport } from '../helpers/loads';
import { waitFor } from '../helpers/wait';

interface Explained {
  configVersion: number;
  versions: { name: string; weight: number; sharePercent: number }[];
  policy?: { strategy: string };
  configured: boolean;
  instances: { id: string; inRotation: boolean; reasons: string[] }[];
  recent: { what: string; by?: string; instance?: string }[];
}

describe('GET /explain/engines/:name?at=: an engine’s routing state at a past moment', () => {
  let cp: ControlPlane;
  let api: Awaited<ReturnType<typeof startApi>>;
  let base: string;

  beforeAll(async () => {
    cp = await startControlPlane(
      [
        engineSpec({
          name: 'calc',
          versions: [{ name: 'v1', weight: 100 }],
          instances: [
            { id: 'c-1', address: '127.0.0.1:1' },
            { id: 'c-2', address: '127.0.0.1:2' },
          ],
        }),
      ],
      { healthChecks: false },
    );
    api = await startApi(cp, logger, '127.0.0.1', 0);
    base = `http://127.0.0.1:${api.port}/api/v1/nerve`;
  });
  afterAll(async () => {
    await api.close();
    await cp.stop(500);
  });

  const explain = async (at: number | string) => {
    const res = await fetch(`${base}/explain/engines/calc?at=${at}`);
    return { status: res.status, body: (await res.json()) as Explained };
  };
  const tick = () => new Promise((r) => setTimeout(r, 5));

  it('a past drain and a router’s ejection are found at their times, and not before', async () => {
    const before = Date.now();
    await tick();
    const drained = await fetch(`${base}/engines/calc/instances/c-2/drain`, { method: 'POST' });
    expect(drained.status).toBe(200);
    await waitFor(
      async () => (await explain(Date.now())).body.instances[1]?.inRotation === false,
      'the drain in the history',
    );
    const afterDrain = Date.now();
    await tick();
    internals(cp).bus.emit(
      'report.received',
      routerReport(Date.now(), [instanceLoad('calc', 'c-1', [], { ejected: true })], 'router-7'),
    );
    await waitFor(
      async () => (await explain(Date.now())).body.instances[0]?.reasons.length === 1,
      'the ejection in the history',
    );

    const then = (await explain(before)).body;
    expect(then.configured).toBe(true);
    expect(then.versions).toEqual([{ name: 'v1', weight: 100, sharePercent: 100 }]);
    expect(then.policy?.strategy).toBeTruthy();
    expect(then.instances.map((i) => [i.id, i.inRotation, i.reasons])).toEqual([
      ['c-1', true, []],
      ['c-2', true, []],
    ]);
    const mid = (await explain(afterDrain)).body;
    // c-2 drained, c-1 still in: v1 keeps every call.
    expect(mid.versions).toEqual([{ name: 'v1', weight: 100, sharePercent: 100 }]);
    expect(mid.configVersion).toBeGreaterThan(then.configVersion);
    expect(mid.instances[0].reasons).toEqual([]);
    expect(mid.instances[1]).toMatchObject({ inRotation: false });
    expect(mid.instances[1].reasons).toEqual([
      expect.stringMatching(/^drained since \S+ by \S+: drained by /),
    ]);
    expect(mid.recent.map((r) => r.what)).toEqual(expect.arrayContaining([expect.stringMatching(/drain/)]));
    const now = (await explain(Date.now())).body;
    expect(now.instances[0].reasons).toEqual([
      expect.stringMatching(/^ejected by router router-7 since \S+ by router-7: ejected by router router-7/),
    ]);

    // Admin gRPC answers the same from the same explainer.
    const client = new AdminClient(`127.0.0.1:${cp.port}`, grpc.credentials.createInsecure());
    try {
      const ask = (atMs: number) =>
        new Promise<ExplainEngineAtResponse>((resolve, reject) =>
          client.explainEngineAt({ engine: 'calc', atMs }, (e, r) => (e ? reject(e) : resolve(r))),
        );
      const past = await ask(afterDrain);
      expect(past.configVersion).toBe(mid.configVersion);
      expect(past.versions).toEqual([{ name: 'v1', weight: 100, sharePercent: 100 }]);
      expect(JSON.parse(past.policyJson)).toEqual(mid.policy);
      expect(past.instances.map((i) => [i.id, i.inRotation, i.reasons])).toEqual(
        mid.instances.map((i) => [i.id, i.inRotation, i.reasons]),
      );
      const refused = await ask(Date.now() + 60_000).catch((e: grpc.ServiceError) => e);
      expect((refused as grpc.ServiceError).code).toBe(grpc.status.INVALID_ARGUMENT);
    } finally {
      client.close();
    }
  });

  it('a moment to come, one that is not a time, or an engine never known is refused clearly', async () => {
    expect((await explain(Date.now() + 60_000)).status).toBe(400);
    const bad = await explain('yesterday');
    expect(bad.status).toBe(400);
    const unknown = await fetch(`${base}/explain/engines/nope?at=1h`);
    expect(unknown.status).toBe(404);
  });
});
