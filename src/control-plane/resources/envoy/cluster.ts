import type { EngineSpec } from '../../../model/engine';
import { anyOf, duration, type EnvoyObject } from './codec';
import { ADS } from './listener';
import { clusterName } from './naming';

function policy(name: string, typeName: string, config: EnvoyObject): EnvoyObject {
  return {
    typed_extension_config: {
      name: `envoy.load_balancing_policies.${name}`,
      typed_config: anyOf(typeName, config),
    },
  };
}

const LEAST_REQUEST = 'envoy.extensions.load_balancing_policies.least_request.v3.LeastRequest';

/** Strategies Envoy can run beyond what every gRPC client understands; the nearest Envoy policy for each. */
const PREFERRED_POLICY: Record<string, EnvoyObject | undefined> = {
  least_request: policy('least_request', LEAST_REQUEST, { choice_count: { value: 2 } }),
  // Envoy's least request with P2C is its nearest to latency × in-flight (Nerve routers do peak-EWMA).
  least_response_time: policy('least_request', LEAST_REQUEST, { choice_count: { value: 2 } }),
  auto: policy('least_request', LEAST_REQUEST, { choice_count: { value: 2 } }),
  // Envoy has no probing balancer (its proposal is open): least request is its nearest.
  probing: policy('least_request', LEAST_REQUEST, { choice_count: { value: 2 } }),
  random: policy('random', 'envoy.extensions.load_balancing_policies.random.v3.Random', {}),
};

/** The policy's slow start as Envoy's slow_start_config (round robin and least request take it). */
function slowStartConfig(spec: EngineSpec): EnvoyObject | undefined {
  const s = spec.policy.slowStart;
  if (!s || s.windowMs <= 0) return undefined;
  return {
    slow_start_window: duration(s.windowMs),
    aggression: { default_value: s.aggression, runtime_key: 'nerve.slow_start.aggression' },
    min_weight_percent: { value: s.minWeightPercent },
  };
}

function circuitBreakers(spec: EngineSpec): EnvoyObject | undefined {
  const b = spec.policy.breaker;
  if (!b || (b.maxRequests === 0 && b.maxPending === 0)) return undefined;
  const threshold: EnvoyObject = { priority: 'DEFAULT' };
  if (b.maxRequests > 0) threshold.max_requests = { value: b.maxRequests };
  if (b.maxPending > 0) threshold.max_pending_requests = { value: b.maxPending };
  return { thresholds: [threshold] };
}

/**
 * Passive health: the outlier policy's consecutive errors and success-rate ejection, plus the breaker
 * policy's failure rate as Envoy's failure-percentage ejection (xDS clients have no per-host breaker; this
 * is its nearest equivalent). Ejections start at the base time and grow per ejection (Envoy, gRFC A50).
 */
function outlierDetection(spec: EngineSpec): EnvoyObject | undefined {
  const b = spec.policy.breaker;
  const o = spec.policy.outlier;
  const failurePercentage = b !== undefined && b.failureRateThreshold > 0;
  const successRate = o !== undefined && o.successRateMinimumHosts > 0;
  const consecutive = o === undefined ? 5 : o.consecutiveErrors;
  if (!failurePercentage && !successRate && consecutive === 0) return undefined;
  const od: EnvoyObject = {
    interval: duration(o?.intervalMs || 10_000),
    base_ejection_time: duration(o?.baseEjectionMs || 2_000),
    max_ejection_time: duration(Math.max(o?.baseEjectionMs || 2_000, o?.maxEjectionMs || 30_000)),
    max_ejection_percent: { value: o?.maxEjectionPercent ?? 10 },
    // 0 turns the check off in Envoy; gRPC (A50) has no consecutive-errors check.
    consecutive_5xx: { value: consecutive },
    enforcing_consecutive_5xx: { value: consecutive > 0 ? 100 : 0 },
    // Success-rate ejection is on by default in Envoy's API: set it off explicitly unless configured.
    // (grpc-js 1.14 crashes running it with success_rate_minimum_hosts unset, so that is always set.)
    enforcing_success_rate: { value: successRate ? 100 : 0 },
  };
  if (successRate) {
    od.success_rate_minimum_hosts = { value: o.successRateMinimumHosts };
    od.success_rate_request_volume = { value: Math.max(1, o.successRateRequestVolume) };
    od.success_rate_stdev_factor = { value: Math.round(o.successRateStdevFactor * 1000) };
  }
  if (failurePercentage) {
    od.failure_percentage_threshold = { value: Math.round(b.failureRateThreshold) };
    od.enforcing_failure_percentage = { value: 100 };
    od.failure_percentage_request_volume = { value: Math.max(1, b.minimumCalls) };
    od.failure_percentage_minimum_hosts = { value: 1 };
  }
  return od;
}

/**
 * Cluster E/<version>: endpoints from EDS over ADS, load reports to this control plane (lrs_server: self),
 * the engine's balancing as an lb_policy every xDS client understands (ROUND_ROBIN, or RING_HASH for
 * sticky engines; the others as a policy list with a round-robin fallback), breaker limits and outlier detection, and HTTP/2 upstream for Envoy.
 */
export function cluster(spec: EngineSpec, version: string): EnvoyObject {
  const name = clusterName(spec.name, version);
  const sticky = spec.policy.strategy === 'sticky';
  const c: EnvoyObject = {
    name,
    type: 'EDS',
    eds_cluster_config: { eds_config: ADS, service_name: name },
    connect_timeout: duration(Math.max(1, spec.policy.healthCheck?.timeoutMs ?? 1000)),
    lb_policy: sticky ? 'RING_HASH' : 'ROUND_ROBIN',
    lrs_server: { self: {} },
    typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': anyOf(
        'envoy.extensions.upstreams.http.v3.HttpProtocolOptions',
        {
          explicit_http_config: { http2_protocol_options: {} },
        },
      ),
    },
  };
  // Each instance is its own locality carrying its weight (see load-assignment.ts), so Envoy must balance
  // by locality weight; ring hash already weighs by locality × endpoint weight.
  if (sticky) c.ring_hash_lb_config = { hash_function: 'XX_HASH', minimum_ring_size: { value: 1024 } };
  else c.common_lb_config = { locality_weighted_lb_config: {} };
  // Envoy panics below 50 % healthy unless told otherwise; Nerve's threshold (0: off) is explicit.
  c.common_lb_config = {
    ...(c.common_lb_config as EnvoyObject | undefined),
    healthy_panic_threshold: { value: spec.policy.panicThreshold ?? 0 },
  };
  const slowStart = slowStartConfig(spec);
  if (slowStart && !sticky) c.round_robin_lb_config = { slow_start_config: slowStart };
  let preferred = PREFERRED_POLICY[spec.policy.strategy];
  if (preferred && slowStart && spec.policy.strategy !== 'random')
    preferred = policy('least_request', LEAST_REQUEST, {
      choice_count: { value: 2 },
      slow_start_config: slowStart,
    });
  if (preferred) {
    // A policy list (gRFC A52): each client takes the first it supports. Envoy runs the preferred policy;
    // gRPC clients without it (grpc-js) fall back to round robin instead of rejecting the cluster.
    c.load_balancing_policy = {
      policies: [
        preferred,
        policy('round_robin', 'envoy.extensions.load_balancing_policies.round_robin.v3.RoundRobin', {}),
      ],
    };
  }
  const breakers = circuitBreakers(spec);
  if (breakers) c.circuit_breakers = breakers;
  const outliers = outlierDetection(spec);
  if (outliers) c.outlier_detection = outliers;
  return c;
}
