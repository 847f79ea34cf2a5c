import type { CanaryRoute, StringMatch } from '../../../../gen/nerve/discovery/v1/resources';
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

/** An Envoy StringMatcher: exact, or RE2 (Envoy's and gRPC's safe_regex) over the whole value. */
function stringMatcher(m: StringMatch): EnvoyObject {
  return m.regex !== undefined ? { safe_regex: { regex: m.regex } } : { exact: m.exact ?? '' };
}

/** A cookie's value as a match on the Cookie header: the pair anywhere in the list. */
function cookieMatcher(name: string, m: StringMatch): EnvoyObject {
  const value = m.regex !== undefined ? `(?:${m.regex})` : escapeRe2(m.exact ?? '');
  return { safe_regex: { regex: `(?:^|.*;\\s*)${escapeRe2(name)}=${value}(?:;.*)?` } };
}

function escapeRe2(s: string): string {
  return s.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/** A rollout's match rules as routes to the canary's cluster, ahead of the weighted route. */
function matchRoutes(spec: EngineSpec, canary: CanaryRoute, weighted: EnvoyObject): EnvoyObject[] {
  const { weighted_clusters: _split, ...route } = weighted;
  void _split;
  return canary.match.map((m) => ({
    match: {
      prefix: '',
      headers: [
        ...Object.entries(m.headers).map(([name, v]) => ({ name, string_match: stringMatcher(v) })),
        ...Object.entries(m.cookies).map(([name, v]) => ({
          name: 'cookie',
          string_match: cookieMatcher(name, v),
        })),
      ],
    },
    route: { ...route, cluster: clusterName(spec.name, canary.version) },
  }));
}

/**
 * RouteConfiguration E: one virtual host for domain E whose last route splits traffic over the engine's
 * versions by weight (canaries), with the policy's timeout and retries; sticky engines hash on the session
 * header so ring hash keeps a session on one instance. A rollout that routes by call adds a route per
 * match rule to the canary's cluster (gRFC A28 header matching; Envoy), and its mirror share as a
 * request mirror policy (Envoy shadows; gRPC clients ignore it).
 */
export function routeConfiguration(spec: EngineSpec, canary?: CanaryRoute): EnvoyObject {
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
  const routes = canary ? matchRoutes(spec, canary, route) : [];
  if (canary && canary.mirrorPercent > 0)
    route.request_mirror_policies = [
      {
        cluster: clusterName(spec.name, canary.version),
        runtime_fraction: { default_value: { numerator: canary.mirrorPercent, denominator: 'HUNDRED' } },
      },
    ];
  routes.push({ match: { prefix: '' }, route });
  return {
    name: spec.name,
    virtual_hosts: [{ name: spec.name, domains: [spec.name], routes }],
  };
}
