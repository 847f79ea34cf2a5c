import { decodeEnvoy, encodeEnvoy, type EnvoyObject } from '../../src/control-plane/resources/envoy/codec';
import { cluster } from '../../src/control-plane/resources/envoy/cluster';
import { envoyResources } from '../../src/control-plane/resources/envoy';
import { listener } from '../../src/control-plane/resources/envoy/listener';
import { loadAssignment } from '../../src/control-plane/resources/envoy/load-assignment';
import { routeConfiguration } from '../../src/control-plane/resources/envoy/route-configuration';
import type { EngineSpec } from '../../src/model/engine';
import { parseEngineSpec, type EngineInput } from '../../src/model/validate';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE,
  CLUSTER_TYPE,
  LISTENER_TYPE,
  ROUTE_CONFIGURATION_TYPE,
} from '../../src/protocol/type-urls';

function spec(input: EngineInput): EngineSpec {
  const r = parseEngineSpec(input);
  if (!r.ok) throw new Error(r.errors.join('; '));
  return r.value;
}

/** Paths of fields set in `input` that did not survive encoding (a misspelt or misplaced field). */
function dropped(input: unknown, decoded: unknown, path = ''): string[] {
  if (input === null || typeof input !== 'object' || input instanceof Uint8Array) return [];
  if (Array.isArray(input))
    return input.flatMap((v, i) => dropped(v, (decoded as unknown[] | undefined)?.[i], `${path}[${i}]`));
  return Object.entries(input).flatMap(([k, v]) => {
    const d = (decoded as Record<string, unknown> | undefined)?.[k];
    if (d !== undefined) return dropped(v, d, `${path}.${k}`);
    return v === 0 || v === '' || v === false ? [] : [`${path}.${k}`]; // proto3 defaults are not encoded
  });
}

function roundTrip(typeName: string, message: EnvoyObject): EnvoyObject {
  const decoded = decodeEnvoy(typeName, encodeEnvoy(typeName, message));
  expect(dropped(message, decoded)).toEqual([]);
  return decoded;
}

const nested = (any: unknown, typeName: string) => decodeEnvoy(typeName, (any as { value: Buffer }).value);

const math = spec({
  name: 'math',
  versions: [
    { name: 'v1', weight: 90 },
    { name: 'v2', weight: 10 },
  ],
  instances: [
    { id: 'a', address: '10.0.0.1:7000', version: 'v1', weight: 300 },
    { id: 'b', address: '10.0.0.2:7000', version: 'v1' },
    { id: 'c', address: '10.0.0.3:7000', version: 'v2' },
    { id: 'dr', address: '10.0.1.1:7000', version: 'v1', priority: 1 },
    { id: 'zero', address: '10.0.0.9:7000', version: 'v1', weight: 0 },
    { id: 'named', address: 'math-7.local:7000', version: 'v1' },
  ],
  policy: {
    timeoutMs: 2500,
    retry: {
      maxAttempts: 3,
      initialBackoffMs: 20,
      maxBackoffMs: 400,
      retryableCodes: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED'],
      perAttemptTimeoutMs: 1_500,
    },
    breaker: { failureRateThreshold: 40, minimumCalls: 15, openMs: 12_000, maxRequests: 64, maxPending: 32 },
    fallbackEngines: ['lite'],
    panicThreshold: 30,
    outlier: { baseEjectionMs: 12_000, maxEjectionMs: 60_000, successRateMinimumHosts: 4 },
  },
});
const lite = spec({ name: 'lite', instances: [{ id: 'l1', address: '10.0.2.1:7000' }] });

describe('Envoy projection of an engine', () => {
  it('Listener E: api_listener → HttpConnectionManager with RDS over ADS, router filter last', () => {
    const l = roundTrip('envoy.config.listener.v3.Listener', listener(math));
    expect(l.name).toBe('math');
    const hcm = nested(
      (l.api_listener as EnvoyObject).api_listener,
      'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
    );
    expect(hcm.rds).toEqual({
      config_source: { ads: {}, resource_api_version: 'V3' },
      route_config_name: 'math',
    });
    const filters = hcm.http_filters as { name: string; typed_config: { type_url: string } }[];
    expect(filters[filters.length - 1].typed_config.type_url).toBe(
      'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
    );
  });

  it('RouteConfiguration E: domain E, weighted clusters per version, timeout and retries from the policy', () => {
    const r = roundTrip('envoy.config.route.v3.RouteConfiguration', routeConfiguration(math));
    const vh = (r.virtual_hosts as EnvoyObject[])[0];
    expect(vh.domains).toEqual(['math']);
    const route = (vh.routes as EnvoyObject[])[0].route as EnvoyObject;
    expect(route.weighted_clusters).toEqual({
      clusters: [
        { name: 'math/v1', weight: { value: 90 } },
        { name: 'math/v2', weight: { value: 10 } },
      ],
    });
    expect(route.timeout).toEqual({ seconds: 2, nanos: 500_000_000 });
    expect(route.max_stream_duration).toEqual({ max_stream_duration: { seconds: 2, nanos: 500_000_000 } });
    expect(route.retry_policy).toEqual({
      retry_on: 'unavailable,resource-exhausted',
      num_retries: { value: 2 },
      retry_back_off: {
        base_interval: { seconds: 0, nanos: 20_000_000 },
        max_interval: { seconds: 0, nanos: 400_000_000 },
      },
      per_try_timeout: { seconds: 1, nanos: 500_000_000 },
    });
    expect(route.hash_policy).toBeUndefined();
  });

  it("a rollout's match rules route to the canary's cluster first; its mirror share shadows", () => {
    const r = roundTrip(
      'envoy.config.route.v3.RouteConfiguration',
      routeConfiguration(math, {
        version: 'v2',
        rollout: 'v2-abc',
        mirrorPercent: 10,
        match: [
          { headers: { 'x-user-group': { exact: 'beta' } }, cookies: {} },
          { headers: { 'x-region': { regex: 'eu-.*' } }, cookies: { canary: { exact: 'a.b' } } },
        ],
      }),
    );
    const routes = (r.virtual_hosts as EnvoyObject[])[0].routes as EnvoyObject[];
    expect(routes).toHaveLength(3);
    expect(routes[0].match).toEqual({
      prefix: '',
      headers: [{ name: 'x-user-group', string_match: { exact: 'beta' } }],
    });
    expect((routes[0].route as EnvoyObject).cluster).toBe('math/v2');
    expect((routes[0].route as EnvoyObject).weighted_clusters).toBeUndefined();
    const cookie = ((routes[1].match as EnvoyObject).headers as EnvoyObject[])[1];
    expect(cookie.name).toBe('cookie');
    const re = new RegExp(
      `^${((cookie.string_match as EnvoyObject).safe_regex as EnvoyObject).regex as string}$`,
    );
    expect(re.test('x=1; canary=a.b; y=2')).toBe(true);
    expect(re.test('canary=a.b')).toBe(true);
    expect(re.test('canary=aXb')).toBe(false);
    expect(re.test('zcanary=a.b')).toBe(false);
    const last = routes[2].route as EnvoyObject;
    expect(last.request_mirror_policies).toEqual([
      { cluster: 'math/v2', runtime_fraction: { default_value: { numerator: 10, denominator: 'HUNDRED' } } },
    ]);
  });

  it('sticky engines hash on x-nerve-session and use ring hash', () => {
    const s = spec({
      name: 's',
      instances: [{ id: 'a', address: '10.0.0.1:1' }],
      policy: { strategy: 'sticky' },
    });
    const route = ((routeConfiguration(s).virtual_hosts as EnvoyObject[])[0].routes as EnvoyObject[])[0]
      .route as EnvoyObject;
    expect(route.hash_policy).toEqual([{ header: { header_name: 'x-nerve-session' } }]);
    const c = roundTrip('envoy.config.cluster.v3.Cluster', cluster(s, 'v1'));
    expect(c.lb_policy).toBe('RING_HASH');
    expect(c.ring_hash_lb_config).toEqual({ hash_function: 'XX_HASH', minimum_ring_size: { value: 1024 } });
  });

  it('least_request engines offer least request with a round-robin fallback (gRFC A52 policy list)', () => {
    const s = spec({
      name: 'lr',
      instances: [{ id: 'a', address: '10.0.0.1:1' }],
      policy: { strategy: 'least_request' },
    });
    const c = roundTrip('envoy.config.cluster.v3.Cluster', cluster(s, 'v1'));
    const policies = (
      c.load_balancing_policy as {
        policies: { typed_extension_config: { name: string; typed_config: { type_url: string } } }[];
      }
    ).policies;
    expect(policies.map((p) => p.typed_extension_config.typed_config.type_url)).toEqual([
      'type.googleapis.com/envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
      'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
    ]);
    expect(
      nested(
        policies[0].typed_extension_config.typed_config,
        'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
      ),
    ).toEqual({ choice_count: { value: 2 } });
  });

  it('slow start becomes Envoy slow_start_config, on round robin and on least request', () => {
    const slowStart = { windowMs: 30_500, aggression: 2 };
    const rr = roundTrip(
      'envoy.config.cluster.v3.Cluster',
      cluster(spec({ name: 'rr', instances: [], policy: { slowStart } }), 'v1'),
    );
    const expected = {
      slow_start_window: { seconds: 30, nanos: 500_000_000 },
      aggression: { default_value: 2, runtime_key: 'nerve.slow_start.aggression' },
      min_weight_percent: { value: 10 },
    };
    expect(rr.round_robin_lb_config).toEqual({ slow_start_config: expected });
    const lr = roundTrip(
      'envoy.config.cluster.v3.Cluster',
      cluster(spec({ name: 'lr', instances: [], policy: { strategy: 'probing', slowStart } }), 'v1'),
    );
    const first = (
      lr.load_balancing_policy as { policies: { typed_extension_config: { typed_config: unknown } }[] }
    ).policies[0];
    expect(
      nested(
        first.typed_extension_config.typed_config,
        'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest',
      ),
    ).toEqual({ choice_count: { value: 2 }, slow_start_config: expected });
  });

  it.each([
    ['least_response_time', 'least_request.v3.LeastRequest'],
    ['auto', 'least_request.v3.LeastRequest'],
    ['probing', 'least_request.v3.LeastRequest'],
    ['random', 'random.v3.Random'],
  ])('%s engines prefer Envoy %s, then round robin', (strategy, preferred) => {
    const s = spec({
      name: 'x',
      instances: [{ id: 'a', address: '10.0.0.1:1' }],
      policy: { strategy: strategy as 'random' },
    });
    const c = roundTrip('envoy.config.cluster.v3.Cluster', cluster(s, 'v1'));
    const urls = (
      c.load_balancing_policy as {
        policies: { typed_extension_config: { typed_config: { type_url: string } } }[];
      }
    ).policies.map((p) => p.typed_extension_config.typed_config.type_url);
    expect(urls).toEqual([
      `type.googleapis.com/envoy.extensions.load_balancing_policies.${preferred}`,
      'type.googleapis.com/envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin',
    ]);
  });

  it('Cluster E/v: EDS over ADS, LRS to self, round robin by locality weight, breaker limits, outlier detection', () => {
    const c = roundTrip('envoy.config.cluster.v3.Cluster', cluster(math, 'v2'));
    expect(c).toMatchObject({
      name: 'math/v2',
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {}, resource_api_version: 'V3' }, service_name: 'math/v2' },
      lb_policy: 'ROUND_ROBIN',
      common_lb_config: { locality_weighted_lb_config: {}, healthy_panic_threshold: { value: 30 } },
      lrs_server: { self: {} },
      circuit_breakers: {
        thresholds: [
          { priority: 'DEFAULT', max_requests: { value: 64 }, max_pending_requests: { value: 32 } },
        ],
      },
      outlier_detection: {
        consecutive_5xx: { value: 5 },
        base_ejection_time: { seconds: 12 },
        failure_percentage_threshold: { value: 40 },
        failure_percentage_request_volume: { value: 15 },
        enforcing_failure_percentage: { value: 100 },
        max_ejection_percent: { value: 10 },
        max_ejection_time: { seconds: 60 },
        interval: { seconds: 10 },
        enforcing_consecutive_5xx: { value: 100 },
        enforcing_success_rate: { value: 100 },
        success_rate_minimum_hosts: { value: 4 },
        success_rate_request_volume: { value: 100 },
        success_rate_stdev_factor: { value: 1900 },
      },
    });
    const options = (c.typed_extension_protocol_options as Record<string, unknown>)[
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions'
    ];
    expect(nested(options, 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions')).toEqual({
      explicit_http_config: { http2_protocol_options: {} },
    });
  });

  it('ClusterLoadAssignment E/v: one weighted locality per instance, failover tiers, health marked', () => {
    const health = (_e: string, i: { id: string }): 'healthy' | 'unhealthy' =>
      i.id === 'b' ? 'unhealthy' : 'healthy';
    const cla = roundTrip(
      'envoy.config.endpoint.v3.ClusterLoadAssignment',
      loadAssignment(
        math,
        'v1',
        new Map([
          ['math', math],
          ['lite', lite],
        ]),
        health,
      ),
    );
    expect(cla.cluster_name).toBe('math/v1');
    const rows = (cla.endpoints as EnvoyObject[]).map((e) => {
      const lb = (e.lb_endpoints as EnvoyObject[])[0];
      const address = (
        (lb.endpoint as EnvoyObject).address as { socket_address: { address: string; port_value: number } }
      ).socket_address;
      return [
        (e.locality as EnvoyObject).sub_zone,
        e.priority ?? 0,
        (e.load_balancing_weight as { value: number }).value,
        lb.health_status,
        `${address.address}:${address.port_value}`,
      ];
    });
    expect(rows).toEqual([
      ['a', 0, 300, 'HEALTHY', '10.0.0.1:7000'],
      ['b', 0, 100, 'UNHEALTHY', '10.0.0.2:7000'],
      ['dr', 1, 100, 'HEALTHY', '10.0.1.1:7000'], // backup tier of the same version
      ['c', 2, 100, 'HEALTHY', '10.0.0.3:7000'], // the other version
      ['l1', 3, 100, 'HEALTHY', '10.0.2.1:7000'], // the fallback engine
    ]);
    // weight 0 and a hostname address (EDS carries IPs) are left out
  });

  it('projects every engine into the four Envoy types, one cluster and assignment per version', () => {
    const content = envoyResources([lite, math], () => 'healthy');
    expect(content.get(LISTENER_TYPE)!.map((r) => r.name)).toEqual(['lite', 'math']);
    expect(content.get(ROUTE_CONFIGURATION_TYPE)!.map((r) => r.name)).toEqual(['lite', 'math']);
    expect(content.get(CLUSTER_TYPE)!.map((r) => r.name)).toEqual(['lite/v1', 'math/v1', 'math/v2']);
    expect(content.get(CLUSTER_LOAD_ASSIGNMENT_TYPE)!.map((r) => r.name)).toEqual([
      'lite/v1',
      'math/v1',
      'math/v2',
    ]);
  });
});
