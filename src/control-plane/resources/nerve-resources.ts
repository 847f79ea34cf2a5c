import {
  EngineCircuits,
  EngineCluster,
  EngineOverrides,
  HealthStatus,
  RouteTable,
} from '../../../gen/nerve/discovery/v1/resources';
import { overridesOf } from '../../model/overrides';
import type { EngineSpec, HealthState } from '../../model/engine';
import type { ResourceInput } from '../../model/snapshot';
import {
  ENGINE_CIRCUITS_TYPE,
  ENGINE_CLUSTER_TYPE,
  ENGINE_OVERRIDES_TYPE,
  ROUTE_TABLE_NAME,
  ROUTE_TABLE_TYPE,
} from '../../protocol/type-urls';

/** The global circuit states of an engine (aggregated from router reports). */
export type CircuitLookup = (engine: string) => EngineCircuits;

/** What active health checking says of an instance; draining comes from the spec. */
export type HealthLookup = (engine: string, instanceId: string) => Exclude<HealthState, 'draining'>;

const HEALTH_TO_PROTO: Record<HealthState, HealthStatus> = {
  healthy: HealthStatus.HEALTH_STATUS_HEALTHY,
  unhealthy: HealthStatus.HEALTH_STATUS_UNHEALTHY,
  draining: HealthStatus.HEALTH_STATUS_DRAINING,
  unknown: HealthStatus.HEALTH_STATUS_UNKNOWN,
};

/** An engine's rollout routing (match rules, mirroring), if a rollout routes by call. */
export type CanaryLookup = (engine: string) => EngineCluster['canary'];

export function engineCluster(
  spec: EngineSpec,
  health: HealthLookup,
  canary: CanaryLookup = () => undefined,
): EngineCluster {
  return {
    name: spec.name,
    versions: spec.versions.map((v) => ({ name: v.name, weight: v.weight })),
    endpoints: spec.instances.map((i) => ({
      id: i.id,
      address: i.address,
      version: i.version,
      weight: i.weight,
      health: HEALTH_TO_PROTO[i.draining ? 'draining' : health(spec.name, i.id)],
      priority: i.priority,
    })),
    policy: spec.policy,
    services: [...spec.services],
    coldStart: coldStart(spec),
    canary: canary(spec.name),
  };
}

/** Held calls while an engine that scales to zero has no instance (its process runtime's scaleToZero). */
function coldStart(spec: EngineSpec): EngineCluster['coldStart'] {
  const zero = spec.runtime?.driver === 'process' ? spec.runtime.autoscale?.scaleToZero : undefined;
  return zero && { maxHeldCalls: zero.maxHeldCalls, holdTimeoutMs: zero.holdTimeoutMs };
}

export function routeTable(specs: readonly EngineSpec[]): RouteTable {
  return { routes: specs.map((s) => ({ engine: s.name, authorities: [s.name], services: [...s.services] })) };
}

/**
 * The NERVE projection of the configuration: what Nerve's own routers subscribe to. Specs must be sorted
 * by name so equal configurations encode to equal bytes (and so equal versions).
 */
export function nerveResources(
  specs: readonly EngineSpec[],
  health: HealthLookup,
  circuits: CircuitLookup = (engine) => ({
    engine,
    instances: [],
    engineCircuit: undefined,
    retryBudget: undefined,
  }),
  canary?: CanaryLookup,
): Map<string, ResourceInput[]> {
  const content = new Map<string, ResourceInput[]>();
  content.set(
    ENGINE_CLUSTER_TYPE,
    specs.map((s) => ({
      name: s.name,
      body: EngineCluster.encode(engineCluster(s, health, canary)).finish(),
    })),
  );
  content.set(ROUTE_TABLE_TYPE, [
    { name: ROUTE_TABLE_NAME, body: RouteTable.encode(routeTable(specs)).finish() },
  ]);
  content.set(
    ENGINE_CIRCUITS_TYPE,
    specs.map((s) => ({
      name: s.name,
      body: EngineCircuits.encode(circuits(s.name)).finish(),
    })),
  );
  return content;
}

/** One engine as served (with every runtime override) and as it is without them. */
export interface EngineViews {
  readonly served: EngineSpec;
  /** Configured weights, nothing drained, the versions' weights from before any rollout. */
  readonly base: EngineSpec;
}

/**
 * What clients that support resource TTLs get instead of the EngineClusters: each engine's base and,
 * apart, what the served engine changes over it (EngineOverrides, only for engines with a change).
 * Engines must be sorted by name, as for nerveResources.
 */
export function nerveTtlResources(
  engines: readonly EngineViews[],
  health: HealthLookup,
  canary?: CanaryLookup,
): Map<string, ResourceInput[]> {
  const bases: ResourceInput[] = [];
  const overrides: ResourceInput[] = [];
  for (const { served, base } of engines) {
    const baseCluster = engineCluster(base, health);
    bases.push({ name: base.name, body: EngineCluster.encode(baseCluster).finish() });
    const changed = overridesOf(engineCluster(served, health, canary), baseCluster);
    if (changed) overrides.push({ name: base.name, body: EngineOverrides.encode(changed).finish() });
  }
  return new Map([
    [ENGINE_CLUSTER_TYPE, bases],
    [ENGINE_OVERRIDES_TYPE, overrides],
  ]);
}
