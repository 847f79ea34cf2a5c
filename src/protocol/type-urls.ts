/** Type URLs of the resources Nerve streams to its own routers. */
export const TYPE_PREFIX = 'type.googleapis.com/';
export const ENGINE_CLUSTER_TYPE = `${TYPE_PREFIX}nerve.discovery.v1.EngineCluster`;
export const ROUTE_TABLE_TYPE = `${TYPE_PREFIX}nerve.discovery.v1.RouteTable`;
export const ENGINE_CIRCUITS_TYPE = `${TYPE_PREFIX}nerve.discovery.v1.EngineCircuits`;

/** The single RouteTable resource's name. */
export const ROUTE_TABLE_NAME = 'nerve';
