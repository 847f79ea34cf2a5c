import { type EngineCluster, HealthStatus } from '../../../gen/nerve/discovery/v1/resources';
import type { InstanceStats } from '../stats/instance-stats';
import type { RoutableEndpoint } from './picker';

export interface Selection {
  readonly endpoints: RoutableEndpoint[];
  /** Why nothing is routable, for the UNAVAILABLE message; '' when something is. */
  readonly reason: string;
}

function routable(health: HealthStatus): boolean {
  return health === HealthStatus.HEALTH_STATUS_HEALTHY || health === HealthStatus.HEALTH_STATUS_UNKNOWN;
}

/**
 * Chooses the endpoints that take traffic and their effective weights: healthy (or not yet checked)
 * endpoints with a weight above 0, from the lowest priority tier that has any. Each version present gets
 * its configured share, renormalised over the versions present (a version with nothing routable gives its
 * share to the others); within a version, endpoints split its share by their weights.
 */
export function selectEndpoints(cluster: EngineCluster, stats: (id: string) => InstanceStats): Selection {
  const candidates = cluster.endpoints.filter((e) => routable(e.health) && e.weight > 0);
  if (candidates.length === 0) {
    return {
      endpoints: [],
      reason: `engine "${cluster.name}" has no healthy instance (${describe(cluster)})`,
    };
  }
  const tier = Math.min(...candidates.map((e) => e.priority));
  const inTier = candidates.filter((e) => e.priority === tier);
  const versionWeight = new Map(cluster.versions.map((v) => [v.name, v.weight]));
  const perVersion = new Map<string, number>();
  for (const e of inTier) perVersion.set(e.version, (perVersion.get(e.version) ?? 0) + e.weight);
  let versionTotal = 0;
  for (const v of perVersion.keys()) versionTotal += versionWeight.get(v) ?? 0;
  if (versionTotal === 0) {
    return {
      endpoints: [],
      reason: `engine "${cluster.name}": the versions with healthy instances all have weight 0 (${describe(cluster)})`,
    };
  }
  const endpoints = inTier
    .filter((e) => (versionWeight.get(e.version) ?? 0) > 0)
    .map((e) => ({
      engine: cluster.name,
      id: e.id,
      address: e.address,
      version: e.version,
      weight: ((versionWeight.get(e.version) ?? 0) / versionTotal) * (e.weight / perVersion.get(e.version)!),
      stats: stats(e.id),
    }));
  return { endpoints, reason: '' };
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
