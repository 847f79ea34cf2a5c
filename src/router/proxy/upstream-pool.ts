import * as http2 from 'node:http2';
import type { Logger } from '../../observability/logger';

/**
 * One HTTP/2 session per instance address, shared by all calls (gRPC multiplexes). A session that closes,
 * fails or receives GOAWAY leaves the pool, and the next call opens a fresh one.
 */
export class UpstreamPool {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  constructor(private readonly logger: Logger) {}

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
