import {
  type EndpointOverride,
  type EngineCluster,
  type EngineOverrides,
  HealthStatus,
} from '../../gen/nerve/discovery/v1/resources';

/*
 * Runtime overrides as their own resource, so that they can expire (xDS resource TTL): a client that
 * supports TTLs holds an engine's base cluster and its overrides apart, and routes by their merge while
 * the control plane keeps the overrides alive. The contract between the two functions: for any base and
 * effective cluster of the same engine and endpoints, applyOverrides(base, overridesOf(effective, base))
 * equals effective.
 */

function sameVersions(a: EngineCluster['versions'], b: EngineCluster['versions']): boolean {
  return a.length === b.length && a.every((v, i) => v.name === b[i].name && v.weight === b[i].weight);
}

/** What `effective` changes over `base` (same engine), or undefined when it changes nothing. */
export function overridesOf(effective: EngineCluster, base: EngineCluster): EngineOverrides | undefined {
  const baseEndpoints = new Map(base.endpoints.map((e) => [e.id, e]));
  const endpoints: EndpointOverride[] = [];
  for (const e of effective.endpoints) {
    const b = baseEndpoints.get(e.id);
    if (!b) continue; // the base always has the effective endpoints: only their weight or drain differ
    const draining =
      e.health === HealthStatus.HEALTH_STATUS_DRAINING && b.health !== HealthStatus.HEALTH_STATUS_DRAINING;
    const weight = e.weight !== b.weight ? e.weight : undefined;
    if (draining || weight !== undefined) endpoints.push({ id: e.id, draining, weight });
  }
  const versions = sameVersions(effective.versions, base.versions) ? [] : effective.versions;
  if (endpoints.length === 0 && versions.length === 0 && !effective.canary) return undefined;
  return { engine: effective.name, versions, endpoints, canary: effective.canary };
}

/** The base with the overrides applied; overrides of endpoints the base lacks are ignored. */
export function applyOverrides(base: EngineCluster, overrides: EngineOverrides | undefined): EngineCluster {
  if (!overrides) return base;
  const byId = new Map(overrides.endpoints.map((o) => [o.id, o]));
  return {
    ...base,
    versions: overrides.versions.length > 0 ? overrides.versions : base.versions,
    endpoints: base.endpoints.map((e) => {
      const o = byId.get(e.id);
      if (!o) return e;
      return {
        ...e,
        weight: o.weight ?? e.weight,
        health: o.draining ? HealthStatus.HEALTH_STATUS_DRAINING : e.health,
      };
    }),
    canary: overrides.canary ?? base.canary,
  };
}
