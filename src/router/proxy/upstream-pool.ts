import * as http2 from 'node:http2';
import type { Logger } from '../../observability/logger';
import { type Keepalive, keepAlive, UPSTREAM_CONNECT_TIMEOUT_MS, UPSTREAM_KEEPALIVE } from '../keepalive';

/**
 * One HTTP/2 session per instance address, shared by all calls (gRPC multiplexes). A session that closes,
 * fails or receives GOAWAY leaves the pool, and the next call opens a fresh one.
 */
export class UpstreamPool {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  constructor(
    private readonly logger: Logger,
    private readonly keepalive: Keepalive = UPSTREAM_KEEPALIVE,
    private readonly connectTimeoutMs = UPSTREAM_CONNECT_TIMEOUT_MS,
  ) {}

  session(address: string): http2.ClientHttp2Session {
    const existing = this.sessions.get(address);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const session = http2.connect(`http://${address}`);
    const forget = () => {
      if (this.sessions.get(address) === session) this.sessions.delete(address);
    };
    session.on('error', (err) => {
      this.logger.debug('upstream session error', { address, error: err.message });
      forget();
    });
    session.on('goaway', forget);
    session.on('close', forget);
    // A connection gone silent (dead host, dropped NAT entry) would take new calls and hold them to their
    // deadlines: every timeMs a PING goes out, and must come back within timeoutMs (UPSTREAM_KEEPALIVE
    // says why so rarely). Node's session timeout fires once and is not re-armed by pings: a timer of ours.
    const stopPings = keepAlive(session, this.keepalive, (why) => {
      this.logger.warn('upstream connection silent; closing it', { address, why });
      if (!session.destroyed) session.destroy(new Error(`${address}: ${why}`));
    });
    // A connect that never completes (black-holed address) fails its waiting calls after the connect
    // timeout, so they are retried elsewhere instead of waiting for their deadlines.
    const connecting = setTimeout(() => {
      this.logger.warn('upstream connect timed out', { address, afterMs: this.connectTimeoutMs });
      session.destroy(new Error(`connect to ${address} timed out after ${this.connectTimeoutMs} ms`));
    }, this.connectTimeoutMs).unref();
    session.once('connect', () => clearTimeout(connecting));
    session.on('close', () => {
      stopPings();
      clearTimeout(connecting);
    });
    session.unref(); // the ingress server keeps the process alive, not idle upstream connections
    this.sessions.set(address, session);
    return session;
  }

  /** Closes sessions to addresses not in `keep` (instances that left the config). */
  retain(keep: ReadonlySet<string>): void {
    for (const [address, session] of this.sessions) {
      if (!keep.has(address)) {
        this.sessions.delete(address);
        session.close();
      }
    }
  }

  closeAll(): void {
    for (const session of this.sessions.values()) session.close();
    this.sessions.clear();
  }
}
