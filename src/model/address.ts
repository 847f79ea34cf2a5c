const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

/**
 * host:port with a port from 1 to 65535 (IPv6 hosts in brackets). In a file of its own so routers can
 * check pushed addresses without loading the config schemas.
 */
export function isHostPort(s: string): boolean {
  const m = HOST_PORT.exec(s);
  return m !== null && Number(m[2]) > 0 && Number(m[2]) < 65536;
}
