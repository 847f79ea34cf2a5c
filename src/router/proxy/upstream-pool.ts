import type { Logger } from '../../observability/logger';
import { H2ClientConnection } from '../../protocol/h2/client';
import { ConnectionStats } from '../../protocol/h2/connection-stats';
import { type ClientCredentials, clientTlsOptions } from '../../security/tls-files';

/** CA to verify instances with, and the certificate to present to them. */
export type UpstreamTls = NonNullable<ClientCredentials['tls']>;

/** SNI takes host names only: an IP address is verified against the certificate's IP SANs, no SNI sent. */
function serverName(host: string): string | undefined {
  return /^[\d.]+$|:/.test(host) ? undefined : host;
}
import { type Keepalive, keepAlive, UPSTREAM_CONNECT_TIMEOUT_MS, UPSTREAM_KEEPALIVE } from '../net/keepalive';

/**
 * HTTP/2 connections per instance address, shared by all calls (gRPC multiplexes): one, and another only
 * when the instance's MAX_CONCURRENT_STREAMS is reached (as Envoy does). A connection that closes, fails
 * or receives GOAWAY leaves the pool; the next call opens a fresh one.
 */
export class UpstreamPool {
  private readonly connections = new Map<string, H2ClientConnection[]>();
  readonly stats = new ConnectionStats();
  /** Addresses of instances whose engine asks for TLS (policy upstreamTls). */
  private tlsAddresses: ReadonlySet<string> = new Set();

  constructor(
    private readonly logger: Logger,
    private readonly keepalive: Keepalive = UPSTREAM_KEEPALIVE,
    private readonly connectTimeoutMs = UPSTREAM_CONNECT_TIMEOUT_MS,
    /** The router's CA and certificate toward instances over TLS (files read at each connect). */
    private readonly tls: UpstreamTls = {},
  ) {}

  /** Which addresses are reached over TLS from now on (connections already open stay as they are). */
  setTlsAddresses(addresses: ReadonlySet<string>): void {
    this.tlsAddresses = addresses;
  }

  /** A connection to `address` (host:port) that can take a stream now. */
  connection(address: string): H2ClientConnection {
    const list = this.connections.get(address);
    if (list !== undefined) for (const conn of list) if (conn.available) return conn;
    return this.open(address);
  }

  private open(address: string): H2ClientConnection {
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon).replace(/^\[|\]$/g, '');
    const port = Number(address.slice(colon + 1));
    const conn = this.tlsAddresses.has(address)
      ? H2ClientConnection.connectTls(host, port, {
          ...clientTlsOptions(this.tls),
          servername: serverName(host),
        })
      : H2ClientConnection.connect(host, port);
    conn.socket.unref(); // the ingress server keeps the process alive, not idle upstream connections
    conn.stats = this.stats;
    this.stats.opened++;
    this.stats.open++;
    const forget = () => {
      const list = this.connections.get(address);
      const at = list?.indexOf(conn) ?? -1;
      if (at < 0) return;
      list!.splice(at, 1);
      if (list!.length === 0) this.connections.delete(address);
    };
    // A connection gone silent (dead host, dropped NAT entry) would take new calls and hold them to their
    // deadlines: every timeMs a PING goes out, and must come back within timeoutMs (UPSTREAM_KEEPALIVE
    // says why so rarely).
    const stopPings = keepAlive(conn, this.keepalive, (why) => {
      this.logger.warn('upstream connection silent; closing it', { address, why });
      conn.destroy(`${address}: ${why}`);
    });
    // A connect that never completes (black-holed address) fails its waiting calls after the connect
    // timeout, so they are retried elsewhere instead of waiting for their deadlines.
    const connecting = setTimeout(() => {
      this.logger.warn('upstream connect timed out', { address, afterMs: this.connectTimeoutMs });
      conn.destroy(`connect to ${address} timed out after ${this.connectTimeoutMs} ms`);
    }, this.connectTimeoutMs).unref();
    conn.socket.once('connect', () => clearTimeout(connecting));
    conn.onGoaway = forget;
    conn.onInternalError = (err) =>
      this.logger.error('internal error handling an instance connection; closed it', {
        address,
        error: err.stack,
      });
    conn.onClose = (why) => {
      this.stats.open--;
      this.logger.debug('upstream connection closed', { address, why });
      forget();
      stopPings();
      clearTimeout(connecting);
    };
    const list = this.connections.get(address);
    if (list === undefined) this.connections.set(address, [conn]);
    else list.push(conn);
    return conn;
  }

  /** Closes connections to addresses not in `keep` (instances that left the config), once their calls end. */
  retain(keep: ReadonlySet<string>): void {
    for (const [address, list] of this.connections) {
      if (keep.has(address)) continue;
      this.connections.delete(address);
      for (const conn of list) conn.close();
    }
  }

  closeAll(): void {
    for (const list of this.connections.values()) for (const conn of list) conn.close();
    this.connections.clear();
  }
}
