import { Counter, Gauge, type Registry } from 'prom-client';
import type { ConnectionStats } from '../../protocol/h2/connection-stats';

/**
 * HTTP/2 connections of the router, by side: downstream (clients) and upstream (engine instances). Read
 * from ConnectionStats at scrape time.
 */
export function registerConnectionMetrics(
  registry: Registry,
  sides: { readonly downstream: ConnectionStats; readonly upstream: ConnectionStats },
): void {
  const each = (f: (side: string, stats: ConnectionStats) => void) => {
    f('downstream', sides.downstream);
    f('upstream', sides.upstream);
  };
  new Gauge({
    name: 'nerve_router_connections',
    help: 'HTTP/2 connections open, downstream (clients) and upstream (engine instances).',
    labelNames: ['side'],
    registers: [registry],
    collect() {
      each((side, s) => this.set({ side }, s.open));
    },
  });
  new Counter({
    name: 'nerve_router_connections_opened_total',
    help: 'HTTP/2 connections accepted (downstream) or dialled (upstream).',
    labelNames: ['side'],
    registers: [registry],
    collect() {
      this.reset();
      each((side, s) => this.inc({ side }, s.opened));
    },
  });
  /** A counter per side and per key of one of ConnectionStats' maps. */
  const byKey = (
    name: string,
    help: string,
    label: string,
    map: (s: ConnectionStats) => Map<string, number>,
  ) =>
    new Counter({
      name,
      help,
      labelNames: ['side', label],
      registers: [registry],
      collect() {
        this.reset();
        each((side, s) => map(s).forEach((n, key) => this.inc({ side, [label]: key }, n)));
      },
    });
  byKey(
    'nerve_router_connection_errors_total',
    'Connections the router closed with an HTTP/2 connection error (GOAWAY), by error code.',
    'code',
    (s) => s.errors,
  );
  byKey(
    'nerve_router_connection_violations_total',
    'HTTP/2 limits and rules a peer broke, by reason (a limit of protocol/h2/limits.ts, or an HTTP/2 error code): the connection was closed, or the request refused (header_list_too_large).',
    'reason',
    (s) => s.violations,
  );
  byKey(
    'nerve_router_connection_drains_total',
    'Connections the router closed gracefully (two-step GOAWAY), by reason: idle_timeout, max_age.',
    'reason',
    (s) => s.drains,
  );
  new Counter({
    name: 'nerve_router_malformed_requests_total',
    help: 'Client requests reset as malformed (RFC 9113 §8.1.1) before routing, by what was wrong.',
    labelNames: ['reason'],
    registers: [registry],
    collect() {
      this.reset();
      sides.downstream.malformedReasons.forEach((n, reason) => this.inc({ reason }, n));
    },
  });
}
