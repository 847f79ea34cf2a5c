import type * as http from 'node:http';
import type { Logger } from '../observability/logger';
import { createAdminServer } from './admin/admin-http';
import { routerMetrics } from './admin/metrics';
import { Ingress } from './proxy/ingress';
import { UpstreamPool } from './proxy/upstream-pool';
import { Reporter } from './control/reporter';
import { engineCircuitsType } from './resources/engine-circuits';
import { engineClusterType } from './resources/engine-cluster';
import { engineOverridesType } from './resources/engine-overrides';
import { ClusterOverlay } from './resources/cluster-overlay';
import { SUPPORTS_RESOURCE_TTL } from '../protocol/type-urls';
import { routeTableType } from './resources/route-table';
import { RoutingState } from './proxy/routing-state';
import { AdsClient } from './xds/ads-client';
import type { ClientCredentials, TlsFiles } from '../security/tls-files';
import type { UpstreamTls } from './proxy/upstream-pool';
import type { Keepalive } from './net/keepalive';
import type { H2Limits } from '../protocol/h2/limits';
import { CallTracer } from './tracing/call-tracer';
import { OtlpExporter, type OtlpOptions } from '../observability/otlp-exporter';
import { spanLogFields, type Span } from '../observability/span';

export interface RouterOptions {
  /** Control-plane gRPC addresses (host:port); the router uses one at a time and fails over in turn. */
  readonly controlPlanes: readonly string[];
  readonly id: string;
  readonly host: string;
  /** Ingress port; 0 picks a free one. */
  readonly port: number;
  readonly adminPort: number;
  /** The bearer token that lets a non-loopback peer change the router through its admin port. */
  readonly adminToken?: string;
  readonly logger: Logger;
  readonly reportIntervalMs?: number;
  /** Pings on the control-plane streams (DEFAULT_KEEPALIVE: 20 s, 10 s to answer). */
  readonly keepalive?: Keepalive;
  /** The ingress's HTTP/2 limits (h2/limits.ts); DEFAULT_LIMITS when absent. */
  readonly http2?: H2Limits;
  /** Token and TLS toward the control plane (its node id must be the token's identity when auth is on). */
  readonly credentials?: ClientCredentials;
  /** TLS on the ingress (ALPN h2); with a CA, clients must present certificates (mTLS). */
  readonly tls?: TlsFiles;
  /** CA and certificate toward engines whose policy says upstreamTls. */
  readonly upstreamTls?: UpstreamTls;
  /** Trace sampling of calls that come without a traceparent (default 0), and OTLP export. */
  readonly tracing?: RouterTracing;
}

export interface RouterTracing {
  readonly sampleRatio: number;
  readonly otlp?: OtlpOptions;
}

const VERSION = '0.1.0';

/**
 * A data-plane router. It never imports control-plane code: it learns everything over xDS, and keeps
 * routing on its last good config when the control plane is away (static stability).
 */
export class Router {
  readonly state: RoutingState;
  readonly ads: AdsClient;
  /** Base clusters and their runtime overrides, merged into what the router routes by. */
  readonly overlay: ClusterOverlay;
  readonly reporter: Reporter;
  private readonly pool: UpstreamPool;
  private readonly ingress: Ingress;
  private readonly admin: http.Server;
  private ports = { ingress: 0, admin: 0 };
  private sweeper: NodeJS.Timeout | undefined;
  private readonly exporter: OtlpExporter | undefined;

  constructor(private readonly options: RouterOptions) {
    const { logger } = options;
    // Ejections and circuit changes are rare and are what an operator looks for: info, not debug.
    this.state = new RoutingState((message, fields) => {
      logger.info(message, fields);
      if (message === 'circuit changed') this.reporter?.flushSoon();
    });
    this.pool = new UpstreamPool(logger, undefined, undefined, options.upstreamTls);
    const otlp = options.tracing?.otlp;
    this.exporter =
      otlp && new OtlpExporter({ ...otlp, attributes: { 'service.instance.id': options.id } }, logger);
    // A sampled call's span: logged (info), reported to the control plane, exported when OTLP is on.
    const finish = (span: Span) => {
      logger.info('traced call', spanLogFields(span));
      this.reporter.addTraced(span);
      this.exporter?.add(span);
    };
    const tracer = new CallTracer(finish, {
      sampleRatio: options.tracing?.sampleRatio ?? 0,
      exporting: this.exporter !== undefined,
    });
    this.ingress = new Ingress(this.state, this.pool, logger, options.http2, options.tls, tracer);
    this.overlay = new ClusterOverlay(
      (clusters) => {
        this.state.applyClusters(clusters);
        this.ingress.releaseHeld();
        this.pool.retain(new Set(clusters.flatMap((c) => c.endpoints.map((e) => e.address))));
        this.pool.setTlsAddresses(
          new Set(
            clusters.filter((c) => c.policy?.upstreamTls).flatMap((c) => c.endpoints.map((e) => e.address)),
          ),
        );
      },
      (engine, problem) =>
        logger.warn('overrides left out: the engine routes by its base configuration', { engine, problem }),
    );
    this.ads = new AdsClient({
      addresses: options.controlPlanes,
      node: {
        id: options.id,
        cluster: 'nerve-router',
        user_agent_name: 'nerve-router',
        user_agent_version: VERSION,
        // Runtime overrides come apart from the base, with a TTL: they die with the control planes.
        client_features: [SUPPORTS_RESOURCE_TTL],
      },
      logger,
      keepalive: options.keepalive,
      credentials: options.credentials,
      types: [
        engineClusterType((clusters) => this.overlay.setBases(clusters)),
        engineOverridesType((overrides) => this.overlay.setOverrides(overrides)),
        routeTableType((tables) => this.state.applyRoutes(tables)),
        engineCircuitsType((circuits) => this.state.applyCircuits(circuits)),
      ],
    });
    this.reporter = new Reporter(
      options.controlPlanes,
      options.id,
      this.state,
      logger,
      options.reportIntervalMs,
      options.keepalive,
      options.credentials,
    );
    // A call held for an engine scaling from zero tells the control plane at once, not at the next report.
    this.reporter.heldCalls = () => this.ingress.holds.counts();
    this.ingress.onDemand = () => this.reporter.flushSoon(true);
    const connections = { downstream: this.ingress.stats, upstream: this.pool.stats };
    this.admin = createAdminServer(
      this.state,
      this.ads,
      routerMetrics(this.state, this.ads, options.id, connections),
      options.adminToken,
    );
  }

  async start(): Promise<this> {
    this.ports.ingress = await this.ingress.listen(this.options.host, this.options.port);
    this.ports.admin = await new Promise<number>((resolve, reject) => {
      this.admin.once('error', reject);
      this.admin.listen(this.options.adminPort, this.options.host, () => {
        const a = this.admin.address();
        resolve(typeof a === 'object' && a ? a.port : this.options.adminPort);
      });
    });
    this.ads.start();
    this.reporter.start();
    this.sweeper = setInterval(() => this.state.sweepOutliers(), 1_000).unref();
    this.options.logger.info('router listening', {
      id: this.options.id,
      ingress: `${this.options.host}:${this.ports.ingress}`,
      admin: `${this.options.host}:${this.ports.admin}`,
      controlPlanes: this.options.controlPlanes,
    });
    return this;
  }

  get port(): number {
    return this.ports.ingress;
  }

  get adminPort(): number {
    return this.ports.admin;
  }

  /** Stops taking calls, lets calls in flight finish within graceMs, sends a last report, closes. */
  async stop(graceMs = 5_000): Promise<void> {
    clearInterval(this.sweeper);
    await this.ingress.close(graceMs);
    this.reporter.flush();
    this.reporter.stop();
    await this.exporter?.flush();
    this.ads.stop();
    this.pool.closeAll();
    this.admin.closeAllConnections();
    await new Promise<void>((resolve) => this.admin.close(() => resolve()));
  }
}
