import { EngineCluster, HealthStatus, RouteTable } from '../../gen/nerve/discovery/v1/resources';
import { defaultPolicy } from '../../src/model/policy';
import { engineClusterType } from '../../src/router/resources/engine-cluster';
import { routeTableType } from '../../src/router/resources/route-table';

const good = (): EngineCluster =>
  EngineCluster.fromPartial({
    name: 'math',
    versions: [{ name: 'v1', weight: 100 }],
    endpoints: [
      {
        id: 'm1',
        address: '127.0.0.1:5000',
        version: 'v1',
        weight: 100,
        health: HealthStatus.HEALTH_STATUS_HEALTHY,
      },
    ],
    policy: defaultPolicy(),
  });

describe('router-side validation of xDS resources', () => {
  const type = engineClusterType(() => undefined);

  it('accepts a good cluster after a wire round trip', () => {
    const decoded = type.decode(EngineCluster.encode(good()).finish());
    expect(type.validate([decoded])).toBeUndefined();
  });

  it.each<[string, (c: EngineCluster) => void, string]>([
    [
      'bad address',
      (c) => (c.endpoints[0].address = 'not-an-address'),
      'EngineCluster "math": endpoint "m1" address "not-an-address" is not host:port',
    ],
    [
      'undeclared version',
      (c) => (c.endpoints[0].version = 'v7'),
      'EngineCluster "math": endpoint "m1" has version "v7", which the cluster does not declare',
    ],
    [
      'unknown strategy',
      (c) => (c.policy!.strategy = 'telepathy'),
      'EngineCluster "math": unknown balancing strategy "telepathy" (this router knows: round_robin, sticky, least_request, least_response_time, random, auto, probing)',
    ],
    [
      'duplicate ids',
      (c) => c.endpoints.push({ ...c.endpoints[0] }),
      'EngineCluster "math": duplicate endpoint id "m1"',
    ],
    [
      'all versions weight 0',
      (c) => (c.versions[0].weight = 0),
      'EngineCluster "math": no version has a weight above 0',
    ],
    [
      'a cache method that is no method',
      (c) =>
        (c.policy!.cache = {
          methods: ['Invoke'],
          operations: [],
          ttlMs: 1000,
          maxEntries: 10,
          maxBytes: 1024,
          keyMetadata: [],
        }),
      'EngineCluster "math": cache method "Invoke" is not a full method path (/pkg.Service/Method)',
    ],
    ['no name', (c) => (c.name = ''), 'EngineCluster without a name'],
  ])('rejects %s with a precise reason', (_label, mutate, reason) => {
    const c = good();
    mutate(c);
    expect(type.validate([c])).toBe(reason);
  });

  it('rejects two clusters of the same name', () => {
    expect(type.validate([good(), good()])).toBe('duplicate EngineCluster "math"');
  });

  it('rejects a route table that sends one authority to two engines', () => {
    const routes = routeTableType(() => undefined);
    const t = RouteTable.fromPartial({
      routes: [
        { engine: 'a', authorities: ['x'] },
        { engine: 'b', authorities: ['x'] },
      ],
    });
    expect(routes.validate([t])).toBe('RouteTable: authority "x" routes to both "a" and "b"');
  });
});
