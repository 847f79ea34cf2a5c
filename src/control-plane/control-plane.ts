import type { Features } from '../config/features';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { randomUUID } from 'node:crypto';
import type { EngineSpec } from '../model/engine';
import type { JsonValue } from '../model/config';
import type { Logger } from '../observability/logger';
import { ADS_SERVICE } from '../protocol/ads';
import { bindInsecure, bindTls, shutdownGracefully } from '../protocol/grpc-server';
import type { TlsFiles } from '../security/tls-files';
import type { ConfigStore } from '../store/config-store';
import { InstrumentedStore } from '../store/instrumented-store';
import { ControlPlaneMetrics } from './metrics/control-plane-metrics';
import { CallWindows } from './metrics/call-windows';
import { FleetMetrics } from './metrics/fleet-metrics';
import { MetricsModule } from './metrics/metrics-module';
import { HistoryModule } from './history/history-module';
import { FeedHub } from './feed/feed-hub';
import { AlertModule } from './alerts/alert-module';
import { ACKS_NS, ALERTS_NS } from './alerts/alert-state';
import { Notifier } from './alerts/notifier';
import { FeedModule, type FeedPeriods } from './feed/feed-module';
import { XdsMetrics } from './metrics/xds-metrics';
import { addAdminGrpc } from './admin/admin-grpc';
import { ApiKeyRegistry, type StaticKey } from '../security/api-key-registry';
import { Authenticator } from '../security/authenticator';
import { API_KEY_KIND } from '../model/security/api-key';
import { CallLimits, type CallLimitSettings } from '../security/call-limits';
import { JwtVerifier, type JwtSettings } from '../security/jwt-verifier';
import { AdminService } from './admin/admin-service';
import { CircuitModule } from './circuits/circuit-module';
import { EngineCatalog } from './config/engine-catalog';
import { seedEngines, seedEntries } from './config/seed';
import { EventBus, type IncomingReport } from './events';
import { HealthModule } from './health/health-module';
import { RoutingHistory } from './health/routing-history';
import { EngineStatusTracker } from './health/engine-status';
import { DEFAULT_LEASE, LeaderElection, type LeaseTimings } from './leader/leader-election';
import { addLrsService } from './lrs/lrs-service';
import type { Module } from './module';
import { addReflection } from './reflection';
import { LoadStats } from './reports/load-stats';
import { addReportService } from './reports/report-service';
import { LoadModule } from './reports/load-module';
import { ReportSharing } from './reports/report-sharing';
import { KnownFleetIndex, plausibleReport } from './reports/plausibility';
import { RateLimitedWarning } from '../observability/rate-limited-warning';
import { SnapshotModule } from './snapshot-module';
import { type DebounceOptions, SnapshotBuilder } from './snapshot-builder';
import { AdsServer } from './xds/ads-server';
import { InMemorySnapshotCache, type SnapshotCache } from './xds/snapshot-cache';
import { FleetEvents } from './fleet/fleet-events';
import type { FleetContext } from './fleet/fleet-context';
import { Supervisor } from './fleet/supervisor';
import { Leases } from './fleet/leases';
import { Autoscaler } from './fleet/autoscaler';
import { probeOnce } from './fleet/probe-once';
import { registerProcessMetrics } from './metrics/process-metrics';
import { RolloutModule } from './rollouts/rollout-module';
import { WeightsModule } from './weights/weights-module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REVOKED_KEYS } from '../security/revoked-keys';

export interface ControlPlaneOptions {
  readonly store: ConfigStore;
  readonly logger: Logger;
  /** Host to bind the gRPC server to. */
  readonly host: string;
  /** 0 picks a free port; `port` tells which. */
  readonly xdsPort: number;
  /** Engines to store at start (from the config file); stored ones of the same name are replaced. */
  readonly engines?: readonly EngineSpec[];
  /** Alert rules, channels and silences to store at start (from the config file). */
  readonly entries?: readonly { kind: string; name: string; value: JsonValue }[];
  readonly reportIntervalMs?: number;
  /** How often xDS clients send LRS load reports. */
  readonly lrsIntervalMs?: number;
  /** Off: no active health checks, every instance stays `unknown` (routable). For benchmarks and tests. */
  readonly healthChecks?: boolean;
  /** Feature flags (config/features.ts): activeHealthChecks and autoscaling act here. */
  readonly features?: Features;
  /** Push debouncing; defaults to DEFAULT_DEBOUNCE. */
  readonly debounce?: DebounceOptions;
  /** This replica's id (in fences, /stats and xDS `control_plane`); default a random one. */
  readonly replicaId?: string;
  readonly lease?: LeaseTimings;
  /** The window of /metrics/summary and of health's call figures (default 60 s). */
  readonly summaryWindowMs?: number;
  /** Periods of the live feed's metrics and health topics (default 5 s and 10 s). */
  readonly feedPeriods?: FeedPeriods;
  /** How often the leader evaluates alert rules (default 500 ms). */
  readonly alertEvalMs?: number;
  /** How long a better engine status must hold before it is reported (default 30 s). */
  readonly engineHoldMs?: number;
  /** Where managed instances' output files go (default `<tmpdir>/nerve-processes`). */
  readonly runDir?: string;
  /**
   * Stop managed processes when this control plane stops. Default: yes in memory (one replica, nothing
   * would supervise them), no with Redis (the next leader adopts them).
   */
  readonly stopProcessesOnStop?: boolean;
  /** How long an instance whose lease lapsed stays listed (unhealthy) before it is removed (default 5 min). */
  readonly leaseRemoveAfterMs?: number;
  /** Authentication of every surface (default: off, every caller is an admin). */
  readonly auth?: AuthSettings;
  /** Rate limits of REST and admin gRPC (default DEFAULT_CALL_LIMITS, in memory). */
  readonly callLimits?: CallLimitSettings;
  /** TLS on the gRPC port (xDS, admin, reports); with a CA, clients must present certificates (mTLS). */
  readonly tls?: TlsFiles;
}

/** ENABLE_AUTH, the JWT key source, keys from the settings (API_KEYS). */
export interface AuthSettings {
  readonly enabled: boolean;
  readonly jwt?: JwtSettings;
  readonly apiKeys?: readonly StaticKey[];
}

/**
 * The control plane: a composition of modules over a versioned store and an event bus. The store holds
 * the configuration and the fleet's shared state; the leader election decides which replica runs the
 * singleton work (health probing, circuit aggregation); the snapshot builder turns configuration,
 * health and circuits into the xDS snapshot; one gRPC port serves ADS, load reports, LRS, the Admin
 * API, grpc.health.v1 and reflection.
 */
export class ControlPlane {
  readonly id: string;
  readonly cache: SnapshotCache = new InMemorySnapshotCache();
  readonly bus: EventBus;
  readonly engines: EngineCatalog;
  readonly admin: AdminService;
  readonly ads: AdsServer;
  /** Who may call: one authentication for REST, admin gRPC, the feeds, xDS and reports. */
  readonly auth: Authenticator;
  readonly loads: LoadStats;
  readonly leader: LeaderElection;
  readonly health: HealthModule;
  readonly circuits: CircuitModule;
  readonly metrics: ControlPlaneMetrics;
  /** Every instance's calls over the last minute, fleet-wide (summaries, health, the feed). */
  readonly windows: CallWindows;
  /** The store, timed (store latency metrics). */
  readonly store: ConfigStore;
  private readonly startedAtMs = Date.now();
  private readonly modules: Module[];
  private readonly reports: { closeAll(): void };
  private readonly lrs: { closeAll(): void };
  private readonly server = new grpc.Server();
  private readonly servingHealth = new HealthImplementation({ '': 'SERVING' });
  private readonly builder: SnapshotBuilder;
  private readonly unsubscribe: (() => void)[] = [];
  private boundPort = 0;
  private stopping = false;
  readonly engineStatus: EngineStatusTracker;
  readonly alerts: AlertModule;
  /** Where people reach this control plane's API (links in notifications); set by the API when it listens. */
  externalUrl = '';
  /** The live feed's source (transports: src/api/feed). */
  readonly feed = new FeedHub();
  /** The fleet's lifecycle events (supervision, leases, scaling), shared between replicas. */
  readonly fleetEvents: FleetEvents;
  readonly supervisor: Supervisor;
  readonly leases: Leases;
  readonly autoscaler: Autoscaler;
  readonly rollouts: RolloutModule;
  readonly weights: WeightsModule;

  private constructor(private readonly options: ControlPlaneOptions) {
    const { logger } = options;
    const store = (this.store = new InstrumentedStore(options.store, (operation, seconds, ok) =>
      this.metrics.storeDuration.observe({ operation, outcome: ok ? 'ok' : 'error' }, seconds),
    ));
    this.id = options.replicaId ?? `nerve-control-plane-${randomUUID().slice(0, 8)}`;
    const reportIntervalMs = options.reportIntervalMs ?? 2_000;
    const lrsIntervalMs = options.lrsIntervalMs ?? 10_000;
    this.bus = new EventBus((event, err) =>
      logger.error('event handler failed', { event, error: err instanceof Error ? err.stack : String(err) }),
    );
    this.engines = new EngineCatalog(store, (name, errors) =>
      logger.error('stored engine is invalid; left out of routing', { engine: name, errors }),
    );
    // A source that missed three reports in a row no longer counts.
    const staleAfterMs = 3 * Math.max(reportIntervalMs, lrsIntervalMs);
    this.loads = new LoadStats(staleAfterMs);
    this.leader = new LeaderElection(store.lease, this.id, this.bus, logger, options.lease ?? DEFAULT_LEASE);
    this.metrics = new ControlPlaneMetrics(store, this.leader, this.id);
    this.windows = new CallWindows(options.summaryWindowMs ?? 60_000);
    this.engineStatus = new EngineStatusTracker(options.engineHoldMs);
    const fleetMetrics = new FleetMetrics(
      this.metrics.registry,
      this.id,
      this.engines,
      this.windows,
      (e, i) => this.health.state(e, i),
    );
    this.health = new HealthModule(
      store,
      this.engines,
      this.bus,
      this.leader,
      logger,
      options.healthChecks !== false && options.features?.activeHealthChecks !== false,
      (engine, id, state) => fleetMetrics.onProbe(engine, id, state),
    );
    // A router's view of a circuit counts for 10 s after its last report of it (routers report an
    // instance only while calling it or while its circuit is not closed).
    this.circuits = new CircuitModule(
      store,
      this.engines,
      this.bus,
      this.leader,
      logger,
      Math.max(3 * reportIntervalMs, 10_000),
      reportIntervalMs,
    );
    // Served engines carry their closed-loop weights (configured ones when those are off).
    this.builder = new SnapshotBuilder(
      { list: async () => (await this.engines.list()).map((s) => this.weights.effective(s)) },
      this.cache,
      (engine, id) => (this.leases.isLapsed(engine, id) ? 'unhealthy' : this.health.state(engine, id).status),
      (err) => logger.error('snapshot rebuild failed; serving the last good one', { error: String(err) }),
      options.debounce,
      (engine) => this.circuits.resource(engine),
    );
    // Started in this order, stopped in reverse. Modules meet only through the bus and the store.
    this.modules = [
      this.leader,
      this.health,
      this.circuits,
      new RoutingHistory(
        this.bus,
        this.engines,
        this.leader,
        (engine) => this.circuits.resource(engine).instances,
        (engine, t) => this.health.note(engine, t),
      ),
      new LoadModule(this.loads, this.bus),
      new MetricsModule(this.bus, this.windows, fleetMetrics),
      new HistoryModule(
        store.history,
        () => this.engines.listNow(),
        this.windows,
        this.leader,
        this.bus,
        logger,
      ),
      ...(store.status().backend === 'memory'
        ? []
        : [new ReportSharing(store, this.bus, this.id, logger, staleAfterMs)]),
      new SnapshotModule(this.builder, this.bus),
    ];
    const xdsMetrics = new XdsMetrics(this.metrics.registry, () => this.ads.counts());
    this.cache.watch((snapshot) => xdsMetrics.onSnapshot(snapshot));
    const keys = new ApiKeyRegistry(store, options.auth?.apiKeys ?? []);
    const jwt = options.auth?.jwt;
    this.auth = new Authenticator(
      options.auth?.enabled ?? false,
      keys,
      jwt && (jwt.secret || jwt.jwksUrl || jwt.publicKeyFile) ? JwtVerifier.create(jwt) : undefined,
    );
    this.ads = new AdsServer(
      this.cache,
      logger,
      this.id,
      {
        ...xdsMetrics.hooks,
        onNack: (nodeId, typeUrl, version, error) => {
          xdsMetrics.hooks.onNack?.(nodeId, typeUrl, version, error);
          this.bus.emit('xds.nack', { nodeId, typeUrl, version, error });
        },
        refuse: () => this.emptyAndDiverged(),
      },
      this.auth,
    );
    this.fleetEvents = new FleetEvents(store, this.bus, this.leader, logger);
    registerProcessMetrics(this.metrics.registry, store);
    const fleet: FleetContext = {
      store,
      engines: this.engines,
      leader: this.leader,
      events: this.fleetEvents,
      logger,
      runDir: options.runDir ?? join(tmpdir(), 'nerve-processes'),
      replicaId: this.id,
      reportIntervalMs,
      probe: probeOnce,
      pushed: (timeoutMs) => this.pushed(timeoutMs),
      inFlight: (engine, id) => this.windows.inFlight(engine, id, 3 * reportIntervalMs),
      checkNow: (engine, id) => this.health.checkNow(engine, id),
      resetCircuit: (engine, id) => this.circuits.reset(engine, [id], false),
    };
    this.leases = new Leases(fleet, this.bus, options.leaseRemoveAfterMs);
    this.rollouts = new RolloutModule(fleet, this.bus);
    this.weights = new WeightsModule(fleet, this.bus, this.windows);
    this.supervisor = new Supervisor(
      fleet,
      this.bus,
      options.stopProcessesOnStop ?? store.status().backend === 'memory',
    );
    const limits = new CallLimits(options.callLimits);
    // Stream opens and feed upgrades count against the same budgets as REST and admin gRPC calls.
    this.auth.limits = limits;
    const streamRefusals = new RateLimitedWarning(logger, 60_000);
    this.auth.onRefusal = (what, code, message, peer) => {
      const reason = code.toLowerCase();
      this.metrics.streamRefusals.inc({ stream: what, reason });
      streamRefusals.warn(`${what}/${peer.replace(/:\d+$/, '')}/${reason}`, 'data-plane stream refused', {
        stream: what,
        peer,
        code,
        reason: message,
      });
    };
    this.admin = new AdminService({
      store,
      engines: this.engines,
      checkState: (engine, id) => this.health.state(engine, id),
      loads: this.loads,
      circuits: this.circuits,
      xdsClients: () => this.ads.clients(),
      xdsEndpoint: () => ({ host: options.host, port: this.boundPort }),
      replica: () => ({
        id: this.id,
        leader: this.leader.leading,
        leaderFence: this.leader.holder ?? null,
        startedAt: new Date(this.startedAtMs).toISOString(),
      }),
      prometheus: () => this.metrics.registry.metrics(),
      logger,
      windows: this.windows,
      engineStatus: this.engineStatus,
      healthHistory: this.health.history,
      ready: () => this.readiness(),
      alerting: () => this.alerts.current(),
      evaluateAlerts: () => this.alerts.evaluateNow(),
      leases: this.leases,
      supervisor: this.supervisor,
      fleetEvents: this.fleetEvents,
      autoscale: (engine) => this.autoscaler.state(engine),
      runDir: fleet.runDir,
      rollouts: this.rollouts,
      weights: this.weights,
      auth: this.auth,
      staticKeyNames: () => keys.staticNames(),
      limits,
      features: options.features,
    });
    this.autoscaler = new Autoscaler(
      fleet,
      this.bus,
      (engine) => {
        const e = this.admin.reads.summary({ engines: [engine] }).engines[0];
        return { inFlight: e?.inFlight ?? 0, p95Ms: e && e.requests > 0 ? e.p95Ms : undefined };
      },
      (engine, id) => this.admin.reads.instanceHealth(engine, id),
    );
    this.modules.push(this.leases, this.supervisor, this.rollouts, this.weights);
    if (options.features?.autoscaling !== false) this.modules.push(this.autoscaler);
    // Alerting on the leader; its notifier reports each delivery attempt back to it.
    const notifier = new Notifier(
      this.metrics.registry,
      logger,
      () => this.externalUrl,
      (n, id, attempt, final) => this.alerts.onAttempt(n, id, attempt, final),
    );
    this.alerts = new AlertModule(
      store,
      this.admin.reads,
      this.bus,
      this.leader,
      notifier,
      logger,
      options.alertEvalMs,
    );
    this.modules.push(this.alerts);
    const feedModule = new FeedModule(
      this.feed,
      this.admin.reads,
      this.engines,
      this.bus,
      options.feedPeriods,
    );
    this.modules.push(feedModule);
    this.unsubscribe.push(
      store.watchShared((c) => {
        // An acknowledgement shows on the feed at once, as on REST (before the leader applies it).
        if (c.ns === ALERTS_NS.name || c.ns === ACKS_NS.name) feedModule.publishAlerts();
      }),
    );
    this.ads.addToServer(this.server);
    addAdminGrpc(this.server, this.admin);
    let seq = 0;
    const knownFleet = new KnownFleetIndex(
      () => store.version(),
      () => this.engines.listNow(),
    );
    const refusals = new RateLimitedWarning(logger, 60_000);
    const onReport = (incoming: IncomingReport) => {
      const { report: r, refused } = plausibleReport(incoming, knownFleet.known);
      for (const [reason, n] of Object.entries(refused))
        if (n > 0) {
          this.metrics.reportLinesRefused.inc({ reason }, n);
          refusals.warn(`${r.nodeId}/${reason}`, 'report lines refused as implausible', {
            nodeId: r.nodeId,
            source: r.source,
            reason,
            lines: n,
          });
        }
      this.bus.emit('report.received', { ...r, seq: ++seq, atMs: Date.now() });
    };
    this.reports = addReportService(this.server, this.id, onReport, reportIntervalMs, logger, this.auth);
    this.lrs = addLrsService(this.server, this.id, onReport, lrsIntervalMs, logger, this.auth);
    this.servingHealth.addToServer(this.server);
    addReflection(this.server, this.auth);
  }

  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const cp = new ControlPlane(options);
    await cp.store.start();
    cp.wire();
    await seedEngines(cp.store, options.engines ?? [], options.logger);
    await seedEntries(cp.store, options.entries ?? [], options.logger);
    for (const module of cp.modules) await module.start();
    cp.boundPort = options.tls
      ? await bindTls(cp.server, options.host, options.xdsPort, options.tls, undefined, (err) =>
          cp.tlsReloadFailed(err),
        )
      : await bindInsecure(cp.server, options.host, options.xdsPort);
    options.logger.info('control plane listening', {
      id: cp.id,
      address: `${options.host}:${cp.boundPort}`,
      store: cp.store.status().backend,
      services: [ADS_SERVICE, 'nerve.admin.v1.Admin'],
    });
    return cp;
  }

  get port(): number {
    return this.boundPort;
  }

  /** Renewed TLS files of the gRPC port that did not load (each kept the last good pair serving). */
  tlsReloadFailures = 0;

  private tlsReloadFailed(err: Error): void {
    this.tlsReloadFailures++;
    this.metrics.tlsReloadFailures.inc();
    this.options.logger.error('renewed TLS files not loaded; the last good certificate keeps serving', {
      error: err.message,
    });
  }

  /** Rebuilds and publishes the snapshot now (tests and shutdown use it; changes trigger it on their own). */
  async flush(): Promise<void> {
    await this.builder.rebuild();
  }

  /**
   * Ready once listening with its configuration loaded, until it stops. A store that cannot be reached
   * does not make a replica unready: it keeps serving its last state (static stability), and taking it
   * out of a load balancer would only move its routers to replicas in the same plight.
   */
  readiness(): { ready: boolean; reason?: string } {
    if (this.stopping) return { ready: false, reason: 'shutting down' };
    if (this.boundPort === 0) return { ready: false, reason: 'starting' };
    const empty = this.emptyAndDiverged();
    if (empty !== undefined) return { ready: false, reason: empty };
    return { ready: true };
  }

  /**
   * A replica that started on a store that had lost its data holds nothing to serve: routers must keep
   * their last configuration (or take another replica's), not an empty one from it. Not ready, and its
   * ADS refuses streams, until a restore or a reseed.
   */
  private emptyAndDiverged(): string | undefined {
    const store = this.store.status();
    return store.state === 'diverged' && store.version === 0
      ? `the store diverged and this replica holds no configuration: ${store.reason}`
      : undefined;
  }

  async stop(graceMs = 5_000): Promise<void> {
    this.stopping = true;
    this.servingHealth.setStatus('', 'NOT_SERVING');
    for (const unsubscribe of this.unsubscribe.splice(0)) unsubscribe();
    for (const module of [...this.modules].reverse()) await module.stop();
    // Streams never end on their own: end them so unary calls in flight are all that shutdown waits for.
    await shutdownGracefully(this.server, graceMs, () => {
      this.ads.closeAll();
      this.reports.closeAll();
      this.lrs.closeAll();
    });
    this.admin.limits.close();
    this.auth.sessions.clear();
  }

  /**
   * Publishes the configuration now and waits, at most `timeoutMs`, until every xDS client of this
   * replica holds and has ACKed it (a drain has then reached them).
   */
  private async pushed(timeoutMs: number): Promise<void> {
    await this.flush();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.ads.clients().every((c) => c.types.every((t) => t.inSync))) return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** The store's changes and status as events on the bus. */
  private wire(): void {
    const { logger } = this.options;
    const store = this.store;
    this.unsubscribe.push(
      store.watch((change) => this.bus.emit('config.changed', change)),
      this.fleetEvents.follow(),
      this.engines.watch((event) => this.bus.emit('engine.changed', event)),
      this.bus.on('engine.changed', (e) => {
        if (e.kind !== 'put') this.engineStatus.forget(e.name);
      }),
      // A key revoked (or its role changed) ends the streams and feeds it opened, on every replica.
      store.watch((change) => {
        if (change.ops.some((op) => op.kind === API_KEY_KIND)) void this.auth.sessions.recheck();
      }),
      store.watchShared((change) => {
        if (change.ns === REVOKED_KEYS.name) void this.auth.sessions.recheck();
      }),
      store.watchStatus((status) => {
        const level = status.state === 'ok' ? 'info' : 'error';
        logger.log(level, 'configuration store', { state: status.state, reason: status.reason });
        this.bus.emit('store.status', status);
      }),
    );
  }
}
