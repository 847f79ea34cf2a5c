import type { CallGate } from '../security/call-gate';
import express from 'express';
import type { AdminService } from '../control-plane/admin/admin-service';
import type { Logger } from '../observability/logger';
import { errorHandler, notFound, requestId } from './http/errors';
import type { FeedGateway } from './feed/feed-gateway';
import { dashboardRoutes } from './dashboard';
import { circuitRoutes } from './routes/circuit-routes';
import { configRoutes } from './routes/config-routes';
import { engineRoutes } from './routes/engine-routes';
import { healthRoutes } from './routes/health-routes';
import { statsRoutes } from './routes/stats-routes';
import { metricsRoutes, PROMETHEUS_CONTENT_TYPE } from './routes/metrics-routes';
import { alertRoutes } from './routes/alert-routes';
import { fleetRoutes } from './routes/fleet-routes';
import { rolloutRoutes } from './routes/rollout-routes';
import { xdsRoutes } from './routes/xds-routes';
import { apiKeyRoutes } from './routes/api-key-routes';
import { enginePartRoutes } from './routes/engine-part-routes';
import { Routes, type RouteSpec } from './http/route-table';
import { restGuard } from './http/rest-auth';
import { cors } from './cors';
import { openApiDocument } from './openapi';
import { eventsQuery } from './http/schemas';
import { DOCS_PAGE } from './docs-page';
import { accessLog } from './access-log';
import { inlineScriptsOf, securityHeaders } from './security-headers';
import { idempotency } from './idempotency';
import type { Span } from '../observability/span';
import { DEFAULT_FEATURES, type Features } from '../config/features';
import { explainRoutes } from './routes/explain-routes';
import { operationsRoutes } from './routes/operations-routes';
import type { TlsFiles } from '../security/tls-files';

export const API_PREFIX = '/api/v1/nerve';
export const API_VERSION = '0.1.0';

/** The REST bridge: the admin operations over HTTP/JSON, under /api/v1/nerve. */
/** What the HTTP side of the API takes besides the admin service. */
export interface ApiOptions {
  /** CORS allow-list (CORS_ORIGINS); empty: no cross-origin browser calls. */
  readonly corsOrigins?: readonly string[];
  /** Largest JSON body (default 1 MiB; /config/import and /batch take up to 32 MiB). */
  readonly maxBodyBytes?: number;
  /** HTTPS (and mTLS with a CA); certificates reloaded when their files change. */
  readonly tls?: TlsFiles;
  /** Feature flags: the dashboard, /docs and the live feed can be off. */
  readonly features?: Features;
  /** Server spans of REST requests in sampled traces (the control plane's OTLP exporter). */
  readonly onSpan?: (span: Span) => void;
}

const BULK_BODY_BYTES = 32 * 1024 * 1024;

export function createApi(
  admin: AdminService,
  gate: CallGate,
  logger: Logger,
  startedAtMs = Date.now(),
  feed?: FeedGateway,
  options: ApiOptions = {},
): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  // Bytes (a degraded response's payload) as base64, not Node's {"type":"Buffer","data":[…]}.
  app.set('json replacer', (_key: string, value: unknown) =>
    isBufferJson(value) ? Buffer.from(value.data).toString('base64') : value,
  );
  app.use(requestId);
  app.use(securityHeaders(inlineScriptsOf(DOCS_PAGE)));
  app.use(accessLog(logger, options.onSpan));
  const features = options.features ?? DEFAULT_FEATURES;
  if (!features.liveFeed) feed = undefined;
  app.use(cors(options.corsOrigins ?? []));
  // Merge patches come as application/merge-patch+json (RFC 7386). Imports and batches of large fleets
  // are big; every other body is small, and a large one is refused (413) before it is parsed. Bodies
  // are parsed only after the route's guard admitted the caller.
  const json = (limit: number) =>
    express.json({ limit, type: ['application/json', 'application/merge-patch+json'] });
  const bulk = json(BULK_BODY_BYTES);
  const small = json(options.maxBodyBytes ?? 1024 * 1024);
  const guard = restGuard(gate.auth, gate.limits);
  const replay = idempotency(admin.idempotency);
  // An Alertmanager configuration comes as its YAML.
  const yaml = express.text({
    limit: options.maxBodyBytes ?? 1024 * 1024,
    type: ['application/yaml', 'application/x-yaml', 'text/yaml', 'text/plain'],
  });
  const r = new Routes(guard, (path) => [
    path === '/config/import' || path === '/batch' ? bulk : small,
    ...(path === '/alerting/alertmanager-config' ? [yaml] : []),
    replay,
  ]);
  healthRoutes(r, admin, startedAtMs);
  engineRoutes(r, admin);
  enginePartRoutes(r, admin);
  configRoutes(r, admin);
  circuitRoutes(r, admin);
  xdsRoutes(r, admin);
  statsRoutes(r, admin);
  metricsRoutes(r, admin);
  alertRoutes(r, admin);
  fleetRoutes(r, admin);
  rolloutRoutes(r, admin);
  apiKeyRoutes(r, admin);
  operationsRoutes(r, admin);
  explainRoutes(r, admin);
  if (feed)
    r.get(
      '/events',
      'viewer',
      {
        summary: 'The live feed as Server-Sent Events (?topics=; Last-Event-ID resumes)',
        query: eventsQuery,
        produces: 'text/event-stream',
      },
      (req, res) => feed.sse(req, res),
    );
  let document: object | undefined; // made once, on first request: every route is declared by then
  r.get('/openapi.json', 'public', 'This document: OpenAPI 3.1 of every route', (_req, res) => {
    res.json((document ??= openApiDocument(r.specs, API_VERSION)));
  });
  if (features.apiDocs)
    r.get(
      '/docs',
      'public',
      { summary: 'The API reference, rendered', produces: 'text/html' },
      (_req, res) => {
        res.type('html').send(DOCS_PAGE);
      },
    );
  app.use(API_PREFIX, r.router);
  app.locals.routes = r.specs;
  // Where Prometheus scrapes by default: the same exposition as /api/v1/nerve/metrics/prometheus.
  app.get('/metrics', guard('viewer', 'GET /metrics'), async (_req, res) => {
    res.type(PROMETHEUS_CONTENT_TYPE).send(await admin.views.prometheus());
  });
  if (features.dashboard) app.use(dashboardRoutes());
  app.use(notFound);
  app.use(errorHandler(logger));
  return app;
}

function isBufferJson(v: unknown): v is { type: 'Buffer'; data: number[] } {
  return (
    typeof v === 'object' &&
    v !== null &&
    (v as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((v as { data?: unknown }).data)
  );
}

/** The REST routes an app made by createApi serves, with their access and documentation. */
export function routesOf(app: express.Express): readonly RouteSpec[] {
  return app.locals.routes as RouteSpec[];
}
