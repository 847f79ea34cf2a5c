import { HealthImplementation } from 'grpc-health-check';
import { ADS_SERVICE } from '../protocol/ads';
import { shutdownGracefully } from '../protocol/grpc-server';
import { GrpcFrontDoor } from '../protocol/grpc-h2/grpc-front-door';
import { installAdmin } from './admin/install';
import { alertActuator } from './admin/alert-actuator';
import { installAlerts } from './alerts/install';
import { installCircuits } from './circuits/install';
import { seedEngines, seedEntries } from './config/seed';
import { installFeed } from './feed/install';
import { type FleetPorts, installFleet } from './fleet/install';
import { probeOnce } from './fleet/probe-once';
import { installHealth } from './health/install';
import { installHistory } from './history/install';
import { installMetrics } from './metrics/install';
import type { Module } from './kernel/module';
import { connectStore, createPlaneContext, type PlaneContext } from './context/plane-context';
import type { ControlPlaneOptions } from './context/plane-options';
import { addReflection } from './reflection';
import { installReports } from './reports/install';
import { installRetryBudget } from './retry-budget/install';
import { installRollouts } from './rollouts/install';
import { installViews } from './views/install';
import { installWeights } from './weights/install';
import { installXds } from './xds/install';
export type { AuthSettings, ControlPlaneOptions } from './context/plane-options';

/** Every feature as installed, for tests and benchmarks that look inside (`test/helpers/internals.ts`). */
export type PlaneParts = ReturnType<typeof installFeatures>;
export const PARTS = Symbol('control plane parts');

/**
 * The features in start order (stopped in reverse). Each takes the plane's context and, where it needs
 * another feature, the small port it declares: this list is the control plane's whole dependency graph.
 * Nothing here binds a port or starts a timer, so unit tests build the whole plane over MemoryStore.
 */
export function installFeatures(
  ctx: PlaneContext,
  /** What reaches outside the process: how a managed instance is probed (grpc.health.v1 by default). */
  outside: { readonly probe?: FleetPorts['probe'] } = {},
) {
  const circuits = installCircuits(ctx);
  const retryBudget = installRetryBudget(ctx);
  const metrics = installMetrics(ctx);
  const health = installHealth(ctx, { onProbe: (e, i, s) => metrics.fleet.onProbe(e, i, s) });
  const reports = installReports(ctx);
  const history = installHistory(ctx);
  const xds = installXds(ctx);
  const views = installViews(ctx, {
    circuits: (e, ids) => circuits.circuits.status(e, ids),
    loads: reports.loads,
    engineStatus: health.engineStatus,
    healthHistory: health.health.history,
    xdsClients: () => xds.ads.clients(),
    xdsClientCount: () => xds.ads.size,
  });
  const fleet = installFleet(ctx, {
    probe: outside.probe ?? probeOnce,
    pushed: xds.pushed,
    checkNow: (e, i) => health.health.checkNow(e, i),
    resetCircuit: (e, i) => circuits.circuits.reset(e, [i], false),
    load: (engine) => {
      const e = views.summary({ engines: [engine] }).engines[0];
      return {
        inFlight: e?.inFlight ?? 0,
        p95Ms: e && e.requests > 0 ? e.p95Ms : undefined,
        requests: e?.requests ?? 0,
      };
    },
    instanceHealth: (e, i) => views.instanceHealth(e, i),
  });
  const rollouts = installRollouts(fleet.fleet, ctx.bus, ctx.windows);
  const weights = installWeights(fleet.fleet, ctx.bus, ctx.windows);
  const alerts = installAlerts(ctx, views);
  const feed = installFeed(ctx, views);
  const admin = installAdmin(ctx, {
    views,
    circuits: circuits.circuits,
    evaluateAlerts: () => alerts.alerts.evaluateNow(),
    leases: fleet.leases,
    fleetEvents: fleet.events,
    runDir: fleet.fleet.runDir,
    rollouts: rollouts.rollouts,
    weights: weights.weights,
  });
  alerts.alerts.bindActuator(alertActuator(admin, ctx.engines, ctx.store, fleet.events));
  const modules: Module[] = [
    ctx.leader,
    ...[
      circuits,
      retryBudget,
      metrics,
      health,
      reports,
      history,
      xds,
      fleet,
      rollouts,
      weights,
      alerts,
      feed,
    ].flatMap((f) => f.modules),
  ];
  return {
    ctx,
    circuits,
    retryBudget,
    metrics,
    health,
    reports,
    xds,
    views,
    fleet,
    rollouts,
    weights,
    alerts,
    feed,
    admin,
    modules,
  };
}

/**
 * The control plane: its features over one context (store, catalogue, bus, leader, replica), all
 * served on one gRPC port (ADS, reports, LRS, the Admin API, grpc.health.v1, reflection): ADS on our own
 * HTTP/2 layer, the rest by grpc-js behind it (protocol/grpc-h2/grpc-front-door.ts). It shows the
 * transports what they serve: the admin commands, the views, the feed, the gate and the metrics.
 */
export class ControlPlane {
  readonly id: string;
  readonly admin: PlaneParts['admin'];
  readonly views: PlaneParts['views'];
  readonly feed: PlaneParts['feed']['hub'];
  readonly metrics: PlaneContext['metrics'];
  readonly auth: PlaneContext['gate']['auth'];
  readonly limits: PlaneContext['gate']['limits'];
  readonly [PARTS]: PlaneParts;
  /** Renewed TLS files of the gRPC port that did not load (each kept the last good pair serving). */
  tlsReloadFailures = 0;
  private readonly servingHealth = new HealthImplementation({ '': 'SERVING' });
  /** The gRPC port: xDS served on our own HTTP/2 layer, every other call passed on to grpc-js. */
  private frontDoor: GrpcFrontDoor | undefined;

  private constructor(private readonly ctx: PlaneContext) {
    const parts = installFeatures(ctx);
    this[PARTS] = parts;
    this.id = ctx.replica.id;
    this.admin = parts.admin;
    this.views = parts.views;
    this.feed = parts.feed.hub;
    this.metrics = ctx.metrics;
    this.auth = ctx.gate.auth;
    this.limits = ctx.gate.limits;
    this.servingHealth.addToServer(ctx.grpc);
    addReflection(ctx.grpc, ctx.gate.auth);
  }

  static async start(options: ControlPlaneOptions): Promise<ControlPlane> {
    const ctx = createPlaneContext(options);
    const cp = new ControlPlane(ctx);
    await ctx.store.start();
    connectStore(ctx);
    await seedEngines(ctx.store, options.engines ?? [], options.logger);
    await seedEntries(ctx.store, options.entries ?? [], options.logger);
    for (const module of cp[PARTS].modules) await module.start();
    cp.frontDoor = new GrpcFrontDoor({
      methods: cp[PARTS].xds.ads.methods(),
      fallback: ctx.grpc,
      // A fleet's ACKs of a push are read in slices too, smaller ones while the push is under way: the
      // admin API keeps answering, and the last streams' push does not wait for the first ones' ACKs.
      readSliceMs: cp[PARTS].xds.ads.storm.pushSliceMs,
      readsGiveWay: () => cp[PARTS].xds.ads.pushing,
      tls: options.tls && { files: options.tls, onReloadError: (err) => cp.tlsReloadFailed(err) },
      onInternalError: (err) =>
        options.logger.error('internal error handling a gRPC connection; closed it', { error: err.stack }),
    });
    ctx.replica.port = await cp.frontDoor.listen(options.host, options.xdsPort);
    options.logger.info('control plane listening', {
      id: cp.id,
      address: `${options.host}:${ctx.replica.port}`,
      store: ctx.store.status().backend,
      services: [ADS_SERVICE, 'nerve.admin.v1.Admin'],
    });
    return cp;
  }

  get port(): number {
    return this.ctx.replica.port;
  }

  /** Where people reach this control plane's API (links in notifications); set by the API when it listens. */
  get externalUrl(): string {
    return this.ctx.replica.externalUrl;
  }
  set externalUrl(url: string) {
    this.ctx.replica.externalUrl = url;
  }

  private tlsReloadFailed(err: Error): void {
    this.tlsReloadFailures++;
    this.metrics.tlsReloadFailures.inc();
    this.ctx.logger.error('renewed TLS files not loaded; the last good certificate keeps serving', {
      error: err.message,
    });
  }

  /** Rebuilds and publishes the snapshot now (tests and shutdown use it; changes trigger it on their own). */
  async flush(): Promise<void> {
    await this[PARTS].xds.flush();
  }

  readiness(): { ready: boolean; reason?: string } {
    return this.ctx.replica.readiness();
  }

  async stop(graceMs = 5_000): Promise<void> {
    const { ctx } = this;
    const parts = this[PARTS];
    ctx.replica.stopping = true;
    this.servingHealth.setStatus('', 'NOT_SERVING');
    ctx.disposables.dispose();
    for (const module of [...parts.modules].reverse()) await module.stop();
    // Streams never end on their own: end them so unary calls in flight are all that shutdown waits for.
    parts.xds.closeStreams();
    const front = this.frontDoor?.close(graceMs);
    await shutdownGracefully(ctx.grpc, graceMs, () => parts.reports.closeStreams());
    await front;
    ctx.gate.limits.close();
    ctx.gate.auth.sessions.clear();
  }
}
