import {
  type EngineCluster as EngineClusterMessage,
  EngineCluster,
} from '../../../gen/nerve/discovery/v1/resources';
import { isHostPort } from '../../model/address';
import { ENGINE_CLUSTER_TYPE } from '../../protocol/type-urls';
import { hasStrategy, strategyNames } from '../balancer/registry';
import type { ResourceType } from './resource-type';

export function clusterProblem(c: EngineClusterMessage): string | undefined {
  if (!c.name) return 'EngineCluster without a name';
  const where = `EngineCluster "${c.name}"`;
  const versions = new Set<string>();
  for (const v of c.versions) {
    if (!v.name) return `${where}: a version has no name`;
    if (versions.has(v.name)) return `${where}: duplicate version "${v.name}"`;
    versions.add(v.name);
  }
  if (c.endpoints.length > 0 && !c.versions.some((v) => v.weight > 0))
    return `${where}: no version has a weight above 0`;
  const ids = new Set<string>();
  for (const e of c.endpoints) {
    if (!e.id) return `${where}: an endpoint has no id`;
    if (ids.has(e.id)) return `${where}: duplicate endpoint id "${e.id}"`;
    ids.add(e.id);
    if (!isHostPort(e.address)) return `${where}: endpoint "${e.id}" address "${e.address}" is not host:port`;
    if (!versions.has(e.version))
      return `${where}: endpoint "${e.id}" has version "${e.version}", which the cluster does not declare`;
  }
  const strategy = c.policy?.strategy ?? '';
  if (!hasStrategy(strategy))
    return `${where}: unknown balancing strategy "${strategy}" (this router knows: ${strategyNames().join(', ')})`;
  const cache = c.policy?.cache;
  if (cache && cache.methods.length > 0) {
    const bad = cache.methods.find((m) => !/^\/[\w.]+\/\w+$/.test(m));
    if (bad !== undefined)
      return `${where}: cache method "${bad}" is not a full method path (/pkg.Service/Method)`;
    if (cache.ttlMs === 0 || cache.maxEntries === 0 || Number(cache.maxBytes) === 0)
      return `${where}: cache needs ttlMs, maxEntries and maxBytes above 0`;
  }
  return undefined;
}

export function engineClusterType(
  apply: (clusters: readonly EngineClusterMessage[]) => void,
): ResourceType<EngineClusterMessage> {
  return {
    typeUrl: ENGINE_CLUSTER_TYPE,
    decode: (bytes) => EngineCluster.decode(bytes),
    validate(clusters) {
      const names = new Set<string>();
      for (const c of clusters) {
        if (names.has(c.name)) return `duplicate EngineCluster "${c.name}"`;
        names.add(c.name);
        const p = clusterProblem(c);
        if (p) return p;
      }
      return undefined;
    },
    apply,
  };
}
