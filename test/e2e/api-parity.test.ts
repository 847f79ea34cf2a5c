import * as grpc from '@grpc/grpc-js';
import {
  AdminClient,
  type AddVersionResponse,
  type GetPolicyResponse,
  type SetVersionWeightResponse,
} from '../../gen/nerve/admin/v1/admin';
import { startApi } from '../../src/api/server';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { logger, engineSpec, startControlPlane } from '../helpers/cluster';

describe('REST and admin gRPC at parity: an engine’s versions and policy', () => {
  let cp: ControlPlane;
  let api: Awaited<ReturnType<typeof startApi>>;
  let client: AdminClient;
  let base: string;

  beforeAll(async () => {
    cp = await startControlPlane([
      engineSpec({
        name: 'calc',
        versions: [{ name: 'v1', weight: 100 }],
        instances: [{ id: 'c-1', address: '127.0.0.1:1' }],
      }),
    ]);
    api = await startApi(cp, logger, '127.0.0.1', 0);
    base = `http://127.0.0.1:${api.port}/api/v1/nerve`;
    client = new AdminClient(`127.0.0.1:${cp.port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await api.close();
    await cp.stop(500);
  });

  const unary = <Req, Res>(
    fn: (r: Req, cb: (e: grpc.ServiceError | null, res: Res) => void) => unknown,
    r: Req,
  ): Promise<Res> =>
    new Promise((resolve, reject) => fn.call(client, r, (e, res) => (e ? reject(e) : resolve(res))));
  const rest = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };

  it('adds and weighs a version over gRPC as REST sees it, and the other way round', async () => {
    const added: AddVersionResponse = await unary(client.addVersion, {
      engine: 'calc',
      name: 'v2',
      weight: 0,
      ifMatch: 0,
    });
    expect(added.engine?.versions).toEqual([
      { name: 'v1', weight: 100 },
      { name: 'v2', weight: 0 },
    ]);
    expect((await rest('PUT', '/engines/calc/versions/v2', { weight: 30 })).status).toBe(200);
    const weighed: SetVersionWeightResponse = await unary(client.setVersionWeight, {
      engine: 'calc',
      version: 'v2',
      weight: 40,
      ifMatch: 0,
    });
    expect(weighed.engine?.versions[1]).toEqual({ name: 'v2', weight: 40 });
    expect((await rest('GET', '/engines/calc/versions')).json.versions).toEqual([
      { name: 'v1', weight: 100 },
      { name: 'v2', weight: 40 },
    ]);
    await unary(client.removeVersion, { engine: 'calc', version: 'v2', ifMatch: 0 });
    expect((await rest('DELETE', '/engines/calc/versions/v2')).status).toBe(404);
    await expect(
      unary(client.removeVersion, { engine: 'calc', version: 'v2', ifMatch: 0 }),
    ).rejects.toMatchObject({
      code: grpc.status.NOT_FOUND,
      details: 'engine "calc" has no version "v2"',
    });
    // A stale If-Match is a conflict on both.
    await expect(
      unary(client.addVersion, { engine: 'calc', name: 'v3', weight: 0, ifMatch: 1 }),
    ).rejects.toMatchObject({
      code: grpc.status.ABORTED,
    });
  });

  it('replaces the policy over either and reads it back over the other, with the same validation', async () => {
    await unary(client.setPolicy, {
      engine: 'calc',
      policyJson: JSON.stringify({ strategy: 'random' }),
      ifMatch: 0,
    });
    expect(((await rest('GET', '/engines/calc/policy')).json.policy as { strategy: string }).strategy).toBe(
      'random',
    );
    expect(
      (await rest('PUT', '/engines/calc/policy', { strategy: 'least_request', timeoutMs: 2500 })).status,
    ).toBe(200);
    const policy = ((await unary(client.getPolicy, { engine: 'calc' })) as GetPolicyResponse).policy;
    expect(policy).toMatchObject({ strategy: 'least_request', timeoutMs: 2500 });
    const bad = await rest('PUT', '/engines/calc/policy', { strategy: 'bogus' });
    await expect(
      unary(client.setPolicy, {
        engine: 'calc',
        policyJson: JSON.stringify({ strategy: 'bogus' }),
        ifMatch: 0,
      }),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: (bad.json.error as { message: string }).message,
    });
    await unary(client.setPolicy, { engine: 'calc', policyJson: '', ifMatch: 0 });
    expect(((await rest('GET', '/engines/calc/policy')).json.policy as { strategy: string }).strategy).toBe(
      'round_robin',
    );
  });

  it('serves the JSON documents of REST (/stats, /xds/bootstrap, /metrics) on gRPC too', async () => {
    const stats = JSON.parse(((await unary(client.getStats, {})) as { json: string }).json) as Record<
      string,
      unknown
    >;
    expect(Object.keys(stats).sort()).toEqual(Object.keys((await rest('GET', '/stats')).json).sort());
    const boot = JSON.parse(
      ((await unary(client.getXdsBootstrap, { node: 'n1', host: '' })) as { json: string }).json,
    );
    expect(boot).toEqual((await rest('GET', '/xds/bootstrap?node=n1')).json);
    const detail = JSON.parse(
      ((await unary(client.getMetricsDetail, {})) as { json: string }).json,
    ) as Record<string, unknown>;
    expect(Object.keys(detail).sort()).toEqual(Object.keys((await rest('GET', '/metrics')).json).sort());
    await expect(unary(client.getXdsBootstrap, { node: 'bad node!', host: '' })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
  });
});
