import { isIP } from 'node:net';
import type { EngineSpec, HealthState, InstanceSpec } from '../../../model/engine';
import type { EnvoyObject } from './codec';
import { clusterName, splitAddress } from './naming';

const HEALTH: Record<HealthState, string> = {
  healthy: 'HEALTHY',
  unhealthy: 'UNHEALTHY',
  draining: 'DRAINING',
  unknown: 'UNKNOWN',
};

export type InstanceHealthOf = (engine: string, instance: InstanceSpec) => HealthState;

interface Tier {
  readonly engine: string;
  readonly instances: readonly InstanceSpec[];
}

/** Groups instances into tiers by their configured priority, lowest first. */
function byPriority(engine: string, instances: readonly InstanceSpec[]): Tier[] {
  const priorities = [...new Set(instances.map((i) => i.priority))].sort((a, b) => a - b);
  return priorities.map((p) => ({ engine, instances: instances.filter((i) => i.priority === p) }));
}

/**
 * ClusterLoadAssignment E/<version>. Failover order, as contiguous priorities from 0: the version's own
 * instances by their priority; then the engine's other versions; then each fallback engine in turn. Every
 * instance is its own locality whose load_balancing_weight is the instance weight, so proxyless gRPC
 * (whose round_robin ignores endpoint weights but honours locality weights) splits exactly as configured.
 * Unhealthy and draining instances are marked, which takes them out for every xDS client; instances of
 * weight 0 and addresses that are not IP literals (EDS carries IPs) are left out.
 */
export function loadAssignment(
  spec: EngineSpec,
  version: string,
  byName: ReadonlyMap<string, EngineSpec>,
  health: InstanceHealthOf,
): EnvoyObject {
  const own = spec.instances.filter((i) => i.version === version);
  const others = spec.instances.filter((i) => i.version !== version);
  const tiers = [...byPriority(spec.name, own), ...byPriority(spec.name, others)];
  for (const fallback of spec.policy.fallbackEngines) {
    const f = byName.get(fallback);
    if (f) tiers.push(...byPriority(f.name, f.instances));
  }
  const seen = new Set<string>();
  const endpoints: EnvoyObject[] = [];
  let priority = 0;
  for (const tier of tiers) {
    let used = false;
    for (const instance of tier.instances) {
      const { host, port } = splitAddress(instance.address);
      if (instance.weight === 0 || isIP(host) === 0 || seen.has(instance.address)) continue;
      seen.add(instance.address);
      used = true;
      endpoints.push({
        locality: { region: tier.engine, zone: instance.version, sub_zone: instance.id },
        load_balancing_weight: { value: instance.weight },
        priority,
        lb_endpoints: [
          {
            endpoint: { address: { socket_address: { address: host, port_value: port } } },
            health_status: HEALTH[health(tier.engine, instance)],
            load_balancing_weight: { value: instance.weight },
          },
        ],
      });
    }
    if (used) priority++;
  }
  return { cluster_name: clusterName(spec.name, version), endpoints };
}
