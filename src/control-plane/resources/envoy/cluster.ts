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
  random: policy('random', 'envoy.extensions.load_balancing_policies.random.v3.Random', {}),
};

function circuitBreakers(spec: EngineSpec): EnvoyObject | undefined {
  const b = spec.policy.breaker;
  if (!b || (b.maxRequests === 0 && b.maxPending === 0)) return undefined;
  const threshold: EnvoyObject = { priority: 'DEFAULT' };
  if (b.maxRequests > 0) threshold.max_requests = { value: b.maxRequests };
  if (b.maxPending > 0) threshold.max_pending_requests = { value: b.maxPending };
  return { thresholds: [threshold] };
}

/**
 * Passive health from the breaker policy: Envoy's consecutive-5xx ejection plus failure-percentage
 * ejection at the policy's failure rate over its minimum volume; ejections last the policy's open time
 * (growing per ejection, as Envoy and gRFC A50 do).
 */
function outlierDetection(spec: EngineSpec): EnvoyObject | undefined {
  const b = spec.policy.breaker;
  if (!b || b.failureRateThreshold <= 0) return undefined;
  return {
    consecutive_5xx: { value: 5 },
    interval: duration(10_000),
    base_ejection_time: duration(Math.max(1, b.openMs)),
    max_ejection_percent: { value: 10 },
    failure_percentage_threshold: { value: Math.round(b.failureRateThreshold) },
    enforcing_failure_percentage: { value: 100 },
    failure_percentage_request_volume: { value: Math.max(1, b.minimumCalls) },
    failure_percentage_minimum_hosts: { value: 1 },
    // Success-rate ejection is on by default in Envoy's API; the policy speaks of a failure rate, so it is
    // off. (grpc-js 1.14 also crashes running it with success_rate_minimum_hosts unset.)
    enforcing_success_rate: { value: 0 },
  };
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
  const preferred = PREFERRED_POLICY[spec.policy.strategy];
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
