import type { EngineSpec } from '../../../model/engine';
import type { ResourceInput } from '../../../model/snapshot';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE,
  CLUSTER_TYPE,
  LISTENER_TYPE,
  ROUTE_CONFIGURATION_TYPE,
} from '../../../protocol/type-urls';
import type { CanaryLookup, HealthLookup } from '../nerve-resources';
import { cluster } from './cluster';
import { encodeEnvoy } from './codec';
import { listener } from './listener';
import { loadAssignment } from './load-assignment';
import { clusterName } from './naming';
import { routeConfiguration } from './route-configuration';

/** The Envoy v3 projection of the configuration: what proxyless gRPC clients and Envoy subscribe to. */
export function envoyResources(
  specs: readonly EngineSpec[],
  health: HealthLookup,
  canary: CanaryLookup = () => undefined,
): Map<string, ResourceInput[]> {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const healthOf = (engine: string, i: { id: string; draining: boolean }) =>
    i.draining ? 'draining' : health(engine, i.id);
  const listeners: ResourceInput[] = [];
  const routes: ResourceInput[] = [];
  const clusters: ResourceInput[] = [];
  const assignments: ResourceInput[] = [];
  for (const spec of specs) {
    listeners.push({
      name: spec.name,
      body: encodeEnvoy('envoy.config.listener.v3.Listener', listener(spec)),
      references: [{ typeUrl: ROUTE_CONFIGURATION_TYPE, name: spec.name }],
    });
    routes.push({
      name: spec.name,
      body: encodeEnvoy(
        'envoy.config.route.v3.RouteConfiguration',
        routeConfiguration(spec, canary(spec.name)),
      ),
      references: spec.versions.map((v) => ({ typeUrl: CLUSTER_TYPE, name: clusterName(spec.name, v.name) })),
    });
    for (const v of spec.versions) {
      const name = clusterName(spec.name, v.name);
      clusters.push({
        name,
        body: encodeEnvoy('envoy.config.cluster.v3.Cluster', cluster(spec, v.name)),
        references: [{ typeUrl: CLUSTER_LOAD_ASSIGNMENT_TYPE, name }],
      });
      assignments.push({
        name,
        body: encodeEnvoy(
          'envoy.config.endpoint.v3.ClusterLoadAssignment',
          loadAssignment(spec, v.name, byName, healthOf),
        ),
      });
    }
  }
  return new Map([
    [LISTENER_TYPE, listeners],
    [ROUTE_CONFIGURATION_TYPE, routes],
    [CLUSTER_TYPE, clusters],
    [CLUSTER_LOAD_ASSIGNMENT_TYPE, assignments],
  ]);
}
