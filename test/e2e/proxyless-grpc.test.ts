import { internals } from '../helpers/internals';
import { createApi } from '../../src/api/app';
import { listenHttp, type HttpHandle } from '../../src/api/server';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { encodeEnvoy } from '../../src/control-plane/resources/envoy/codec';
import { routeConfiguration } from '../../src/control-plane/resources/envoy/route-configuration';
import type { EngineSpec } from '../../src/model/engine';
import { nextSnapshot, type ResourceInput } from '../../src/model/snapshot';
import { CLUSTER_LOAD_ASSIGNMENT_TYPE, ROUTE_CONFIGURATION_TYPE } from '../../src/protocol/type-urls';
import { DemoEngine } from '../../src/engines/engine-server';
import { parseEngineSpec, type EngineInput } from '../../src/model/validate';
import { MemoryStore } from '../../src/store/memory-store';
import { logger } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';
import { waitForAck, XdsProbe } from '../helpers/xds-client';

const NODE = 'proxyless-test';
let cp: ControlPlane;
const engines = new Map<string, DemoEngine>();
let probe: XdsProbe;
let api: HttpHandle;

async function startEngine(type: string, name: string, id: string, version = 'v1'): Promise<DemoEngine> {
  const e = await new DemoEngine({ type, name, id, version, host: '127.0.0.1', port: 0, logger }).start();
  engines.set(id, e);
  return e;
}

beforeAll(async () => {
  const groups: [EngineInput, [string, string][]][] = [
    [
      {
        name: 'canary',
        versions: [
          { name: 'v1', weight: 90 },
          { name: 'v2', weight: 10 },
        ],
      },
      [
        ['canary-1', 'v1'],
        ['canary-2', 'v1'],
        ['canary-3', 'v2'],
      ],
    ],
    [
      { name: 'weighted' },
      [
        ['weighted-1', 'v1'],
        ['weighted-2', 'v1'],
      ],
    ],
    [
      { name: 'drain' },
      [
        ['drain-1', 'v1'],
        ['drain-2', 'v1'],
      ],
    ],
    [
      { name: 'tiers' },
      [
        ['tiers-1', 'v1'],
        ['tiers-2', 'v1'],
        ['tiers-backup', 'v1'],
      ],
    ],
    [
      { name: 'leastreq', policy: { strategy: 'least_request' } },
      [
        ['leastreq-1', 'v1'],
        ['leastreq-2', 'v1'],
      ],
    ],
    [
      { name: 'sticky', policy: { strategy: 'sticky' } },
      [
        ['sticky-1', 'v1'],
        ['sticky-2', 'v1'],
        ['sticky-3', 'v1'],
      ],
    ],
  ];
  const specs = [];
  for (const [input, members] of groups) {
    const started = await Promise.all(members.map(([id, v]) => startEngine('echo', input.name, id, v)));
    const r = parseEngineSpec({
      ...input,
      instances: started.map((e) => ({
        id: e.id,
        address: e.address,
        version: e.version,
        priority: e.id.endsWith('backup') ? 1 : 0,
      })),
      policy: {
        ...input.policy,
        healthCheck: { intervalMs: 100, timeoutMs: 500, unhealthyThreshold: 1, healthyThreshold: 1 },
        // Projected as per_try_timeout, which gRPC clients must accept (and ignore, gRFC A44).
        retry: { perAttemptTimeoutMs: 10_000 },
      },
    });
    if (!r.ok) throw new Error(r.errors.join('; '));
    specs.push(r.value);
  }
  cp = await ControlPlane.start({
    store: new MemoryStore(),
    logger,
    host: '127.0.0.1',
    xdsPort: 0,
    engines: specs,
    lrsIntervalMs: 200,
  });
  await waitFor(async () => (await cp.admin.views.health()).status === 'healthy', 'healthy engines');
  api = await listenHttp(createApi(cp.admin, cp, logger), '127.0.0.1', 0);
  const bootstrap = await (
    await fetch(`http://127.0.0.1:${api.port}/api/v1/nerve/xds/bootstrap?node=${NODE}`)
  ).text();
  expect(JSON.parse(bootstrap).xds_servers[0].server_uri).toBe(`127.0.0.1:${cp.port}`);
  probe = await XdsProbe.start(bootstrap);
});

afterAll(async () => {
  probe?.stop();
  await api?.close();
  await cp?.stop(500);
  await Promise.all([...engines.values()].map((e) => e.stop(200)));
});

describe('proxyless gRPC (@grpc/grpc-js-xds) with Nerve as its xDS server', () => {
  it('accepts every resource and splits 90/10 across versions within ±5 points over 2,000 calls', async () => {
    const byVersion = await probe.tally('canary', 2000, 'version');
    expect(byVersion.v1 + byVersion.v2).toBe(2000);
    expect(Math.abs(byVersion.v2 / 2000 - 0.1)).toBeLessThanOrEqual(0.05);
    const status = internals(cp)
      .ads.clients()
      .find((x) => x.nodeId === NODE && x.types.some((t) => t.subscribed.includes('canary')))!;
    expect(status.types.map((t) => [t.typeUrl.split('.').pop(), t.nack?.error ?? 'ok'])).toEqual(
      expect.arrayContaining([
        ['Listener', 'ok'],
        ['RouteConfiguration', 'ok'],
        ['Cluster', 'ok'],
        ['ClusterLoadAssignment', 'ok'],
      ]),
    );
  });

  it('follows a weight changed through the admin API', async () => {
    await waitFor(
      async () => Object.keys(await probe.tally('weighted', 20)).length === 2,
      'both instances serving',
    );
    const before = await probe.tally('weighted', 200);
    expect(Math.abs(before['weighted-1'] - 100)).toBeLessThanOrEqual(20);
    await cp.admin.setInstanceWeight('weighted', 'weighted-1', 300);
    await waitForAck(cp, NODE);
    // The client applies what it ACKed a moment later: wait until the new split shows, then measure.
    await waitFor(
      async () => (await probe.tally('weighted', 100))['weighted-1'] >= 65,
      'the new weights applied',
    );
    const after = await probe.tally('weighted', 1000);
    expect(Math.abs(after['weighted-1'] / 1000 - 0.75)).toBeLessThanOrEqual(0.05);
  });

  it('sends no calls to a drained instance once the push is applied (within 2 s)', async () => {
    await waitFor(
      async () => Object.keys(await probe.tally('drain', 20)).length === 2,
      'both instances serving',
    );
    const drainedAt = Date.now();
    await cp.admin.drainInstance('drain', 'drain-1');
    await waitForAck(cp, NODE);
    // The client applies an update a moment after it ACKs it: converged within 2 s, then never again.
    await waitFor(
      async () => (await probe.tally('drain', 20))['drain-1'] === undefined,
      'the client to stop calling drain-1',
      3_000,
    );
    expect(Date.now() - drainedAt).toBeLessThan(3_000); // typically well under a second
    expect(await probe.tally('drain', 100)).toEqual({ 'drain-2': 100 });
  });

  it('fails over to priority 1 when every priority-0 instance is down', async () => {
    await waitFor(
      async () => Object.keys(await probe.tally('tiers', 20)).length === 2,
      'both priority-0 instances serving',
    );
    engines.get('tiers-1')!.kill();
    engines.get('tiers-2')!.kill();
    await waitFor(
      async () => (await cp.admin.views.health('tiers')).engines[0].healthyInstances === 1,
      'both priority-0 instances unhealthy',
    );
    await waitForAck(cp, NODE);
    expect(await probe.tally('tiers', 50)).toEqual({ 'tiers-backup': 50 });
  });

  it('keeps a session on one instance with ring hash, and moves about 1/N of sessions when one is added', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `user-${i}`);
    const owner = async () => {
      const ids = await probe.calls('sticky', { sessions: keys });
      return new Map(keys.map((k, n) => [k, ids[n]]));
    };
    const first = await owner();
    expect(new Set(first.values()).size).toBe(3);
    const again = await owner();
    expect([...keys].every((k) => first.get(k) === again.get(k))).toBe(true);

    const extra = await startEngine('echo', 'sticky', 'sticky-4');
    await cp.admin.addInstance({ engine: 'sticky', id: 'sticky-4', address: extra.address });
    await waitFor(
      async () => (await cp.admin.views.health('sticky')).engines[0].healthyInstances === 4,
      'sticky-4 healthy',
    );
    await waitForAck(cp, NODE);
    const after = await owner();
    const moved = keys.filter((k) => after.get(k) !== first.get(k));
    const toNew = moved.filter((k) => after.get(k) === 'sticky-4').length;
    expect(toNew / keys.length).toBeGreaterThan(0.1);
    expect(moved.length / keys.length).toBeLessThan(0.45); // ideal 1/4; gRPC's ring rescales per host count
  });

  it('accepts a least-request cluster and falls back to round robin, where it lacks least request', async () => {
    await waitFor(
      async () => Object.keys(await probe.tally('leastreq', 20)).length === 2,
      'both instances serving',
    );
    await waitForAck(cp, NODE);
    const nacks = internals(cp)
      .ads.clients()
      .flatMap((c) => c.types)
      .filter((t) => t.nack);
    expect(nacks).toEqual([]);
  });

  it('reports load over LRS into the same per-instance metrics the routers feed', async () => {
    await probe.tally('weighted', 60);
    const view = await waitFor(async () => {
      const e = await cp.admin.views.getEngine('weighted');
      const total = e.instances.reduce((n, i) => n + (i.load?.requests ?? 0), 0);
      return total > 0 ? e : undefined;
    }, 'an LRS report');
    expect(view.instances.find((i) => i.id === 'weighted-1')!.load!.requests).toBeGreaterThan(0);
  });

  it('records a resource the client rejects, does not resend it, and the client keeps the previous one', async () => {
    await waitFor(
      async () => Object.keys(await probe.tally('weighted', 20)).length === 2,
      'both instances serving',
    );
    await waitForAck(cp, NODE);
    // The probe's channel for `weighted` has its own ADS stream.
    const status = () =>
      internals(cp)
        .ads.clients()
        .find((c) => c.nodeId === NODE && c.types.some((t) => t.subscribed.includes('weighted/v1')))!.types;
    const current = internals(cp).cache.snapshot;
    const content = new Map<string, ResourceInput[]>();
    for (const [typeUrl, t] of current.types)
      content.set(
        typeUrl,
        [...t.resources.values()].map((r) => ({ name: r.name, body: r.body })),
      );
    // Priorities must start at 0 (gRFC A27): a CLA with only priority 1 is invalid for gRPC.
    const bad = encodeEnvoy('envoy.config.endpoint.v3.ClusterLoadAssignment', {
      cluster_name: 'weighted/v1',
      endpoints: [
        {
          locality: { region: 'weighted', sub_zone: 'x' },
          load_balancing_weight: { value: 1 },
          priority: 1,
          lb_endpoints: [
            { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 1 } } } },
          ],
        },
      ],
    });
    content.set(
      CLUSTER_LOAD_ASSIGNMENT_TYPE,
      content
        .get(CLUSTER_LOAD_ASSIGNMENT_TYPE)!
        .map((r) => (r.name === 'weighted/v1' ? { name: r.name, body: bad } : r)),
    );
    const rejected = nextSnapshot(current, content);
    internals(cp).cache.publish(rejected);

    const cla = await waitFor(
      () =>
        status().find(
          (t) =>
            t.typeUrl === CLUSTER_LOAD_ASSIGNMENT_TYPE &&
            t.nack?.version === rejected.types.get(CLUSTER_LOAD_ASSIGNMENT_TYPE)!.version,
        ),
      'the NACK',
      3000,
    ).catch((e: Error) => {
      throw new Error(
        `${e.message} ${rejected.types.get(CLUSTER_LOAD_ASSIGNMENT_TYPE)!.version} ${JSON.stringify(status())}`,
      );
    });
    expect(cla.nack!.error).toContain('priority 1 but not 0');
    expect(Object.keys(await probe.tally('weighted', 40)).sort()).toEqual(['weighted-1', 'weighted-2']);

    // A change of another type is pushed and ACKed; the rejected assignments are not sent again.
    const responses = cla.responses;
    const weighted = (await cp.admin.views.getEngine('weighted')) as unknown as EngineSpec;
    const slower = routeConfiguration({ ...weighted, policy: { ...weighted.policy, timeoutMs: 12_345 } });
    const routes = content.get(ROUTE_CONFIGURATION_TYPE)!;
    content.set(
      ROUTE_CONFIGURATION_TYPE,
      routes.map((r) =>
        r.name === 'weighted'
          ? { name: r.name, body: encodeEnvoy('envoy.config.route.v3.RouteConfiguration', slower) }
          : r,
      ),
    );
    const nudged = nextSnapshot(rejected, content);
    internals(cp).cache.publish(nudged);
    await waitFor(
      () =>
        status().find((t) => t.typeUrl === ROUTE_CONFIGURATION_TYPE)?.ackedVersion ===
        nudged.types.get(ROUTE_CONFIGURATION_TYPE)!.version,
      'the route update ACKed',
    );
    expect(status().find((t) => t.typeUrl === CLUSTER_LOAD_ASSIGNMENT_TYPE)!.responses).toBe(responses);

    // The next real change replaces it and is accepted.
    await cp.flush();
    await waitForAck(cp, NODE);
  });
});
