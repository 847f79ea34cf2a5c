/** How a router notices a control plane or instance that went silent without closing its connection. */
export interface Keepalive {
  /** An HTTP/2 PING after this long without traffic. */
  readonly timeMs: number;
  /** No PING ACK within this: the connection is dead, the stream fails, the next address is tried. */
  readonly timeoutMs: number;
}

/**
 * A control plane whose host died or whose network partitioned leaves the TCP connection open: without
 * pings, a router would wait on its idle ADS stream for good and never fail over. 20 s + 10 s, below the
 * usual 30 s+ idle timeouts of load balancers in between.
 */
export const DEFAULT_KEEPALIVE: Keepalive = { timeMs: 20_000, timeoutMs: 10_000 };

/**
 * Instance connections ping far less often: engines may run on gRPC C-core, whose servers by default
 * answer pings more often than every 5 minutes without data with GOAWAY (too_many_pings). At this pace a
 * connection a NAT or firewall dropped silently is still found and replaced; failing calls are the
 * business of deadlines, outlier detection and breakers.
 */
export const UPSTREAM_KEEPALIVE: Keepalive = { timeMs: 330_000, timeoutMs: 20_000 };

/** Envoy's connect_timeout default. */
export const UPSTREAM_CONNECT_TIMEOUT_MS = 5_000;

/** A connection that can PING: node:http2's client session, or the router's own HTTP/2 connection. */
export interface Pingable {
  readonly destroyed: boolean;
  readonly connecting: boolean;
  ping(done: (err: Error | null) => void): boolean;
}

/**
 * Pings `session` every timeMs; `onSilent` (once per probe) when a PING is not answered within timeoutMs
 * or fails. No probe while the session is still connecting. Returns the function that stops it.
 */
export function keepAlive(
  session: Pingable,
  keepalive: Keepalive,
  onSilent: (why: string) => void,
): () => void {
  const probe = () => {
    if (session.destroyed || session.connecting) return;
    const timer = setTimeout(
      () => onSilent(`no PING answer within ${keepalive.timeoutMs} ms`),
      keepalive.timeoutMs,
    ).unref();
    const sent = session.ping((err) => {
      clearTimeout(timer);
      if (err) onSilent(`PING failed: ${err.message}`);
    });
    if (!sent) clearTimeout(timer);
  };
  const interval = setInterval(probe, keepalive.timeMs).unref();
  return () => clearInterval(interval);
}
