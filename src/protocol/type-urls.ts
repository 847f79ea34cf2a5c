/** Type URLs of the resources Nerve streams to its own routers. */
export const TYPE_PREFIX = 'type.googleapis.com/';
export const ENGINE_CLUSTER_TYPE = `${TYPE_PREFIX}nerve.discovery.v1.EngineCluster`;
export const ROUTE_TABLE_TYPE = `${TYPE_PREFIX}nerve.discovery.v1.RouteTable`;
export const ENGINE_CIRCUITS_TYPE = `${TYPE_PREFIX}nerve.discovery.v1.EngineCircuits`;
export const ENGINE_OVERRIDES_TYPE = `${TYPE_PREFIX}nerve.discovery.v1.EngineOverrides`;

/** What wraps a resource sent with a TTL (and a heartbeat, which has no body). */
export const RESOURCE_WRAPPER_TYPE = `${TYPE_PREFIX}envoy.service.discovery.v3.Resource`;
/** The client feature (node.client_features) that asks for resources with a TTL. */
export const SUPPORTS_RESOURCE_TTL = 'xds.config.supports-resource-ttl';

/** The single RouteTable resource's name. */
export const ROUTE_TABLE_NAME = 'nerve';

/** Envoy v3 resource types, for proxyless gRPC clients and Envoy. */
export const LISTENER_TYPE = `${TYPE_PREFIX}envoy.config.listener.v3.Listener`;
export const ROUTE_CONFIGURATION_TYPE = `${TYPE_PREFIX}envoy.config.route.v3.RouteConfiguration`;
export const CLUSTER_TYPE = `${TYPE_PREFIX}envoy.config.cluster.v3.Cluster`;
export const CLUSTER_LOAD_ASSIGNMENT_TYPE = `${TYPE_PREFIX}envoy.config.endpoint.v3.ClusterLoadAssignment`;

/**
 * Make-before-break order for pushes on an aggregated stream (Envoy's ADS ordering): clusters before the
 * endpoints they use, listeners before routes, so no client ever sees a route to a cluster it lacks.
 */
export const PUSH_ORDER: readonly string[] = [
  CLUSTER_TYPE,
  CLUSTER_LOAD_ASSIGNMENT_TYPE,
  LISTENER_TYPE,
  ROUTE_CONFIGURATION_TYPE,
  ENGINE_CLUSTER_TYPE,
  ENGINE_OVERRIDES_TYPE,
  ROUTE_TABLE_TYPE,
  ENGINE_CIRCUITS_TYPE,
];
