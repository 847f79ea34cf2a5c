import type { CallGate } from '../security/call-gate';
import * as http from 'node:http';
import * as https from 'node:https';
import type { TlsFiles } from '../security/tls-files';
import { serverTlsOptions, watchTlsFiles } from '../security/tls-reload';
import type { Express } from 'express';
import type { Registry } from 'prom-client';
import type { AdminService } from '../control-plane/admin/admin-service';
import type { FeedHub } from '../control-plane/feed/feed-hub';
import type { Logger } from '../observability/logger';
import { type ApiOptions, createApi, routesOf } from './app';
import type { RouteSpec } from './http/route-table';
import { FeedGateway, type FeedGatewayOptions } from './feed/feed-gateway';

export interface HttpHandle {
  readonly server: http.Server;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Listens on host:port (0 picks one) and reports the port it got: HTTPS when `tls` is given (client
 * certificates required when it has a CA), its certificates reloaded when the files change.
 */
export function listenHttp(
  app: Express,
  host: string,
  port: number,
  tls?: TlsFiles,
  onTlsError: (err: Error) => void = () => undefined,
): Promise<HttpHandle> {
  return new Promise((resolve, reject) => {
    const server = tls ? https.createServer(serverTlsOptions(tls), app) : http.createServer(app);
    const unwatch = tls
      ? watchTlsFiles(tls, (options) => (server as https.Server).setSecureContext(options), onTlsError)
      : () => undefined;
    server.once('error', (err) => {
      unwatch();
      reject(err);
    });
    server.listen(port, host, () => {
      const a = server.address();
      resolve({
        server: server as http.Server,
        port: typeof a === 'object' && a ? a.port : port,
        close: () =>
          new Promise<void>((done) => {
            unwatch();
            server.close(() => done());
            server.closeIdleConnections();
          }),
      });
    });
  });
}

/** What the API needs of a control plane: its admin operations, its feed and its metrics registry. */
export interface ApiSource extends CallGate {
  readonly admin: AdminService;
  readonly feed: FeedHub;
  readonly metrics: { readonly registry: Registry };
  /** Where people reach the API (links in notifications); filled in here when empty. */
  externalUrl: string;
}

/** The REST API with the live feed (WebSocket and SSE) on one HTTP server. */
export async function startApi(
  cp: ApiSource,
  logger: Logger,
  host: string,
  port: number,
  feedOptions?: FeedGatewayOptions,
  apiOptions: ApiOptions = {},
): Promise<HttpHandle & { readonly feed: FeedGateway; readonly routes: readonly RouteSpec[] }> {
  const feed = new FeedGateway(cp.feed, logger, cp.metrics.registry, { ...feedOptions, auth: cp.auth });
  const app = createApi(cp.admin, cp, logger, Date.now(), feed, apiOptions);
  const handle = await listenHttp(app, host, port, apiOptions.tls, (err) =>
    logger.error('TLS certificates not reloaded: keeping the previous ones', { error: err.message }),
  ).catch((err: unknown) => {
    feed.close();
    throw err;
  });
  // The liveFeed feature off: no WebSocket upgrade either (the SSE route is not declared).
  if (apiOptions.features?.liveFeed !== false) feed.attach(handle.server);
  if (!cp.externalUrl)
    cp.externalUrl = `${apiOptions.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${handle.port}`;
  return {
    ...handle,
    feed,
    routes: routesOf(app),
    close: async () => {
      feed.close();
      await handle.close();
    },
  };
}
