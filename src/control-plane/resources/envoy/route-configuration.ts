import type { EngineSpec } from '../../../model/engine';
import { type EnvoyObject, duration } from './codec';
import { clusterName, SESSION_HEADER } from './naming';

/** gRPC status names as Envoy's retry_on tokens (x-envoy-retry-grpc-on). */
const RETRY_ON: Record<string, string> = {
  CANCELLED: 'cancelled',
  DEADLINE_EXCEEDED: 'deadline-exceeded',
  INTERNAL: 'internal',
  RESOURCE_EXHAUSTED: 'resource-exhausted',
  UNAVAILABLE: 'unavailable',
};

function retryPolicy(spec: EngineSpec): EnvoyObject | undefined {
  const retry = spec.policy.retry;
  const retryOn = (retry?.retryableCodes ?? []).map((c) => RETRY_ON[c]).filter(Boolean);
  if (!retry || retry.maxAttempts <= 1 || retryOn.length === 0) return undefined;
  const base = Math.max(1, retry.initialBackoffMs);
  const policy: EnvoyObject = {
    retry_on: retryOn.join(','),
    num_retries: { value: retry.maxAttempts - 1 },
    retry_back_off: {
      base_interval: duration(base),
      max_interval: duration(Math.max(base, retry.maxBackoffMs)),
    },
  };
  // Envoy cancels and retries an attempt past it; gRPC clients ignore the field (gRFC A44).
  if (retry.perAttemptTimeoutMs > 0) policy.per_try_timeout = duration(retry.perAttemptTimeoutMs);
  return policy;
}

/**
 * RouteConfiguration E: one virtual host for domain E whose single route splits traffic over the engine's
 * versions by weight (canaries), with the policy's timeout and retries; sticky engines hash on the session
 * header so ring hash keeps a session on one instance.
 */
export function routeConfiguration(spec: EngineSpec): EnvoyObject {
  const versions = spec.versions.filter((v) => v.weight > 0);
  const route: EnvoyObject = {
    weighted_clusters: {
      clusters: versions.map((v) => ({ name: clusterName(spec.name, v.name), weight: { value: v.weight } })),
    },
    timeout: duration(spec.policy.timeoutMs),
    // gRPC clients read the deadline from max_stream_duration (gRFC A31), Envoy from timeout.
    max_stream_duration: { max_stream_duration: duration(spec.policy.timeoutMs) },
  };
  const retry = retryPolicy(spec);
  if (retry) route.retry_policy = retry;
  if (spec.policy.strategy === 'sticky') route.hash_policy = [{ header: { header_name: SESSION_HEADER } }];
  return {
    name: spec.name,
    virtual_hosts: [{ name: spec.name, domains: [spec.name], routes: [{ match: { prefix: '' }, route }] }],
  };
}
