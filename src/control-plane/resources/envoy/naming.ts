/**
 * Envoy resource names for an engine E: Listener "E" (so `xds:///E` resolves), RouteConfiguration "E",
 * and one Cluster plus ClusterLoadAssignment per version, "E/<version>".
 */
export function clusterName(engine: string, version: string): string {
  return `${engine}/${version}`;
}

export const SESSION_HEADER = 'x-nerve-session';

/** Splits host:port, unbracketing IPv6 hosts. */
export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  return { host: host.startsWith('[') ? host.slice(1, -1) : host, port: Number(address.slice(colon + 1)) };
}
