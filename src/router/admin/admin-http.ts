import { createHash, timingSafeEqual } from 'node:crypto';
import * as http from 'node:http';
import type { Registry } from 'prom-client';
import { clustersView } from './clusters-view';
import { CircuitState, HealthStatus } from '../../../gen/nerve/discovery/v1/resources';
import { LOG_LEVELS, isLogLevel, logLevels } from '../../observability/log-levels';
import type { RoutingState } from '../proxy/routing-state';
import type { AdsClient } from '../xds/ads-client';

/**
 * The router's admin port: /metrics (Prometheus), /ready (200 once it has a config from a control plane),
 * /config (what it routes by), /clusters (every instance: in rotation or why not, circuit, ejection, what
 * it has seen), /logging (GET the levels; POST ?level=debug[&component=router] sets them, as Envoy's
 * admin does), for operators. Plain node:http: nothing here is worth a framework. Reads are open, as
 * Envoy's admin port is (keep it private: the Kubernetes NetworkPolicy admits only Prometheus); a change
 * (POST /logging) is taken only from this host (loopback) or with `Authorization: Bearer <adminToken>`
 * (ROUTER_ADMIN_TOKEN), so reaching the port is not enough to change what the router logs.
 */
export function createAdminServer(
  state: RoutingState,
  ads: AdsClient,
  registry: Registry,
  adminToken?: string,
): http.Server {
  return http.createServer((req, res) => {
    const send = (status: number, type: string, body: string) => {
      res.writeHead(status, { 'content-type': type });
      res.end(body);
    };
    const url = new URL(req.url ?? '/', 'http://router');
    const path = url.pathname;
    if (
      req.method !== 'GET' &&
      req.method !== 'HEAD' &&
      !mayChange(req.socket.remoteAddress ?? '', req.headers.authorization, adminToken)
    )
      return send(
        403,
        'text/plain',
        'changes are taken from loopback or with Authorization: Bearer <ROUTER_ADMIN_TOKEN>\n',
      );
    if (path === '/logging') return logging(req.method, url.searchParams, send);
    if (req.method !== 'GET') return send(405, 'text/plain', 'GET only\n');
    if (path === '/metrics') {
      registry.metrics().then(
        (text) => send(200, registry.contentType, text),
        (err: Error) => send(500, 'text/plain', `${err.message}\n`),
      );
      return;
    }
    if (path === '/ready') {
      const ready = state.generation > 0;
      return send(
        ready ? 200 : 503,
        'application/json',
        JSON.stringify({ ready, xdsConnected: ads.connected }),
      );
    }
    if (path === '/config') {
      const engines = state.engineNames().map((name) => state.engine(name)!.cluster);
      const xds = Object.fromEntries(ads.states);
      return send(
        200,
        'application/json',
        JSON.stringify({ generation: state.generation, xds, engines }, namedEnums, 2),
      );
    }
    if (path === '/clusters') {
      return send(200, 'application/json', JSON.stringify(clustersView(state), null, 2));
    }
    send(404, 'text/plain', 'not found: try /metrics, /ready, /config, /clusters or /logging\n');
  });
}

function logging(
  method: string | undefined,
  query: URLSearchParams,
  send: (status: number, type: string, body: string) => void,
): void {
  if (method === 'GET') return send(200, 'application/json', JSON.stringify({ levels: logLevels.levels() }));
  if (method !== 'POST') return send(405, 'text/plain', 'GET or POST ?level=\n');
  const level = query.get('level');
  if (!isLogLevel(level))
    return send(400, 'text/plain', `level must be one of ${LOG_LEVELS.join(', ')}, got "${level ?? ''}"\n`);
  try {
    const levels = logLevels.set(level, query.get('component') ?? undefined);
    send(200, 'application/json', JSON.stringify({ levels }));
  } catch (err) {
    send(404, 'text/plain', `${(err as Error).message}\n`);
  }
}

/** Whether a request may change the router: from this host (127.0.0.0/8, ::1), or bearing the admin token. */
export function mayChange(
  peer: string,
  authorization: string | undefined,
  token: string | undefined,
): boolean {
  if (token) {
    const given = /^Bearer\s+(\S+)$/i.exec(authorization ?? '')?.[1] ?? '';
    const a = createHash('sha256').update(given).digest();
    const b = createHash('sha256').update(token).digest();
    if (timingSafeEqual(a, b)) return true;
  }
  return /^(::ffff:)?127\./.test(peer) || peer === '::1';
}

/**
 * /config shows enums by name, in /clusters' words (`healthy`, not 1): an operator compares the two.
 */
function namedEnums(key: string, value: unknown): unknown {
  if (typeof value !== 'number') return value;
  if (key === 'health')
    return (HealthStatus[value] ?? String(value)).replace('HEALTH_STATUS_', '').toLowerCase();
  if (key === 'state')
    return (CircuitState[value] ?? String(value)).replace('CIRCUIT_STATE_', '').toLowerCase();
  return value;
}
