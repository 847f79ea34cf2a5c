import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { randomUUID } from 'node:crypto';
import type { EngineSpec } from '../model/engine';
import type { Logger } from '../observability/logger';
import { ADS_SERVICE } from '../protocol/ads';
import { bindInsecure, shutdownGracefully } from '../protocol/grpc-server';
import type { ConfigStore } from '../store/config-store';
import { addAdminGrpc } from './admin/admin-grpc';
import { AdminService } from './admin/admin-service';
import { CircuitBoard } from './circuits/circuit-board';
import { HealthChecker } from './health/health-checker';
import { addLrsService } from './lrs/lrs-service';
import { addReflection } from './reflection';
import { LoadStats } from './reports/load-stats';
import { addReportService } from './reports/report-service';
import { type DebounceOptions, SnapshotBuilder } from './snapshot-builder';
import { AdsServer } from './xds/ads-server';
import { SnapshotCache } from './xds/snapshot-cache';

export interface ControlPlaneOptions {
  readonly store: ConfigStore;
  readonly logger: Logger;
  /** Host to bind the gRPC server to. */
  readonly host: string;
  /** 0 picks a free port; `port` tells which. */
  readonly xdsPort: number;
  /** Engines to store at start (from the config file); existing engines of the same name are replaced. */
  readonly engines?: readonly EngineSpec[];
  readonly reportIntervalMs?: number;
  /** How often xDS clients send LRS load reports. */
  readonly lrsIntervalMs?: number;
  /** Off: no active health checks, every instance stays `unknown` (routable). For benchmarks and tests. */
  readonly healthChecks?: boolean;
  /** Push debouncing; defaults to DEFAULT_DEBOUNCE. */
  readonly debounce?: DebounceOptions;
}

/**
 * The control plane: engine specs in a store, health checking, snapshots, and one gRPC port serving
 * ADS (xDS), the load report stream, the Admin API, grpc.health.v1 and server reflection.
 */
export class ControlPlane {
  readonly id = `nerve-control-plane-${randomUUID().slice(0, 8)}`;
  readonly cache = new SnapshotCache();
  readonly admin: AdminService;
  readonly ads: AdsServer;
  readonly loads: LoadStats;
  readonly circuits: CircuitBoard;
  readonly healthChecker: HealthChecker;
  private readonly reports: { closeAll(): void };
  private readonly lrs: { closeAll(): void };
  private readonly server = new grpc.Server();
  private readonly servingHealth = new HealthImplementation({ '': 'SERVING' });
  private readonly builder: SnapshotBuilder;
  private unwatchStore: (() => void) | undefined;
  private readonly sweeper: NodeJS.Timeout;
  private boundPort = 0;

  private constructor(private readonly options: ControlPlaneOptions) {
    const { logger, store } = options;
    const reportIntervalMs = options.reportIntervalMs ?? 2_000;
    const lrsIntervalMs = options.lrsIntervalMs ?? 10_000;
    // A source that missed three reports in a row no longer counts.
    this.loads = new LoadStats(3 * Math.max(reportIntervalMs, lrsIntervalMs));
    this.healthChecker = new HealthChecker(logger, () => this.builder.request());
    // A router's view of a circuit counts for 10 s after its last report of it (routers report an
    // instance only while calling it or while its circuit is not closed).
    this.circuits = new CircuitBoard(Math.max(3 * reportIntervalMs, 10_000), () => this.builder.request());
    this.sweeper = setInterval(() => this.circuits.sweep(), reportIntervalMs).unref();
    this.builder = new SnapshotBuilder(
      store,
      this.cache,
      (engine, id) => this.healthChecker.state(engine, id).status,
      (err) => logger.error('snapshot rebuild failed; serving the last good one', { error: String(err) }),
      options.debounce,
      (engine) => this.circuits.resource(engine),
    );
    this.ads = new AdsServer(this.cache, logger, this.id);
    this.admin = new AdminService({
      store,
      checkState: (engine, id) => this.healthChecker.state(engine, id),
      loads: this.loads,
      circuits: this.circuits,
      xdsClients: () => this.ads.clients(),
      xdsEndpoint: () => ({ host: options.host, port: this.boundPort }),
      logger,
    });
    this.ads.addToServer(this.server);
    addAdminGrpc(this.server, this.admin);
    this.reports = addReportService(this.server, this.loads, this.circuits, reportIntervalMs, logger);
    this.lrs = addLrsService(this.server, this.loads, lrsIntervalMs, logger);
    this.servingHealth.addToServer(this.server);
    addReflection(this.server);
  }

  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const cp = new ControlPlane(options);
    for (const spec of options.engines ?? []) {
      const current = await options.store.get(spec.name);
      await options.store.put(spec, current?.revision ?? 0);
    }
    // A change carries its spec: health checks follow that engine at once, the snapshot through the
    // debouncer, and nothing lists the whole store per change.
    cp.unwatchStore = options.store.watch((event) => {
      if (options.healthChecks !== false) {
        cp.healthChecker.syncEngine(
          event.kind === 'put' ? event.spec.name : event.name,
          event.kind === 'put' ? event.spec : undefined,
        );
      }
      cp.builder.request();
    });
    await cp.initialSync();
    cp.boundPort = await bindInsecure(cp.server, options.host, options.xdsPort);
    options.logger.info('control plane listening', {
      id: cp.id,
      address: `${options.host}:${cp.boundPort}`,
      services: [ADS_SERVICE, 'nerve.admin.v1.Admin'],
    });
    return cp;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Rebuilds and publishes the snapshot now (tests and shutdown use it; changes trigger it on their own). */
  async flush(): Promise<void> {
    await this.builder.rebuild();
  }

  async stop(graceMs = 5_000): Promise<void> {
    this.servingHealth.setStatus('', 'NOT_SERVING');
    this.unwatchStore?.();
    this.healthChecker.stop();
    clearInterval(this.sweeper);
    this.builder.cancel();
    // Streams never end on their own: end them so unary calls in flight are all that shutdown waits for.
    await shutdownGracefully(this.server, graceMs, () => {
      this.ads.closeAll();
      this.reports.closeAll();
      this.lrs.closeAll();
    });
  }

  /** Start: health checks for every stored engine, and the first snapshot. */
  private async initialSync(): Promise<void> {
    if (this.options.healthChecks !== false) this.healthChecker.sync(await this.options.store.list());
    await this.builder.rebuild();
  }
}
