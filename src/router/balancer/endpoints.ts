import { type EngineCluster, HealthStatus } from '../../../gen/nerve/discovery/v1/resources';
import type { CircuitBreaker } from '../resilience/circuit-breaker';
import type { InstanceStats } from '../stats/instance-stats';
import type { RoutableEndpoint } from './picker';

export interface Selection {
  readonly endpoints: RoutableEndpoint[];
  /** Why nothing is routable, for the UNAVAILABLE message; '' when something is. */
  readonly reason: string;
  /** Below the panic threshold: health was ignored, every configured instance is in. */
  readonly panic: boolean;
}

function routable(health: HealthStatus): boolean {
  return health === HealthStatus.HEALTH_STATUS_HEALTHY || health === HealthStatus.HEALTH_STATUS_UNKNOWN;
}

/** Envoy's overprovisioning factor: a tier keeps all its traffic until fewer than 1/1.4 of it is healthy. */
const OVERPROVISIONING = 1.4;

type Endpoint = EngineCluster['endpoints'][number];

/** Effective weights within one tier: each version present gets its share, split by instance weight. */
function tierWeights(cluster: EngineCluster, inTier: readonly Endpoint[]): Map<Endpoint, number> {
  const versionWeight = new Map(cluster.versions.map((v) => [v.name, v.weight]));
  const perVersion = new Map<string, number>();
  for (const e of inTier) perVersion.set(e.version, (perVersion.get(e.version) ?? 0) + e.weight);
  let versionTotal = 0;
  for (const v of perVersion.keys()) versionTotal += versionWeight.get(v) ?? 0;
  const weights = new Map<Endpoint, number>();
  if (versionTotal === 0) return weights;
  for (const e of inTier) {
    const vw = versionWeight.get(e.version) ?? 0;
    if (vw > 0) weights.set(e, (vw / versionTotal) * (e.weight / perVersion.get(e.version)!));
  }
  return weights;
}

/**
 * Chooses the endpoints that take traffic and their effective weights. Routable endpoints are healthy (or
 * not yet checked) with a weight above 0. Priority tiers share traffic as Envoy's do: a tier takes
 * min(100 %, 1.4 × its healthy share) of what the tiers before it left, the rest spills to the next one
 * (and shares are normalised when all tiers together fall short). Within a tier, each version present
 * gets its configured share, renormalised over the versions present; within a version, endpoints split
 * its share by their weights.
 */
export function selectEndpoints(
  cluster: EngineCluster,
  stats: (id: string) => InstanceStats,
  breaker: (id: string) => CircuitBreaker | undefined = () => undefined,
): Selection {
  const configured = cluster.endpoints.filter(
    (e) => e.weight > 0 && e.health !== HealthStatus.HEALTH_STATUS_DRAINING,
  );
  let candidates = configured.filter((e) => routable(e.health));
  // Envoy's panic mode: with too few healthy instances, health checks are more likely wrong than the
  // whole fleet down, and concentrating all traffic on the survivors would take them down too.
  const threshold = cluster.policy?.panicThreshold ?? 0;
  const panic =
    threshold > 0 && configured.length > 0 && (100 * candidates.length) / configured.length < threshold;
  if (panic) candidates = configured;
  if (candidates.length === 0) {
    return {
      endpoints: [],
      reason: `engine "${cluster.name}" has no healthy instance (${describe(cluster)})`,
      panic,
    };
  }
  const tiers = [...new Set(cluster.endpoints.map((e) => e.priority))].sort((a, b) => a - b);
  const shares: { weights: Map<Endpoint, number>; share: number }[] = [];
  let left = 1;
  for (const tier of tiers) {
    // Draining and weight-0 instances are out by choice and do not count against a tier's health.
    const members = cluster.endpoints.filter(
      (e) => e.priority === tier && e.weight > 0 && e.health !== HealthStatus.HEALTH_STATUS_DRAINING,
    );
    const healthy = candidates.filter((e) => e.priority === tier);
    const weights = tierWeights(cluster, healthy);
    if (members.length === 0 || weights.size === 0) continue;
    const share = Math.min(left, (OVERPROVISIONING * healthy.length) / members.length);
    if (share <= 0) break;
    shares.push({ weights, share });
    left -= share;
  }
  const total = shares.reduce((sum, s) => sum + s.share, 0);
  if (total === 0) {
    return {
      endpoints: [],
      reason: `engine "${cluster.name}": the versions with healthy instances all have weight 0 (${describe(cluster)})`,
      panic,
    };
  }
  const endpoints: RoutableEndpoint[] = [];
  for (const { weights, share } of shares) {
    for (const [e, w] of weights) {
      endpoints.push({
        engine: cluster.name,
        id: e.id,
        address: e.address,
        version: e.version,
        weight: (share / total) * w,
        stats: stats(e.id),
        breaker: breaker(e.id),
      });
    }
  }
  return { endpoints, reason: '', panic };
}

function describe(cluster: EngineCluster): string {
  if (cluster.endpoints.length === 0) return 'no instances';
  const counts = new Map<string, number>();
  for (const e of cluster.endpoints) {
    const label =
      e.weight === 0 && routable(e.health)
        ? 'weight 0'
        : HealthStatus[e.health].replace('HEALTH_STATUS_', '').toLowerCase();
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return [...counts].map(([label, n]) => `${n} ${label}`).join(', ');
}
