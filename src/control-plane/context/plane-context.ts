import * as grpc from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../observability/logger';
import { API_KEY_KIND } from '../../model/security/api-key';
import { REVOKED_KEYS } from '../../security/revoked-keys';
import type { ConfigStore } from '../../store/config-store';
import { InstrumentedStore } from '../../store/instrumented-store';
import { EngineCatalog } from '../config/engine-catalog';
import { EventBus } from '../kernel/events';
import { createGate, type PlaneGate } from './gate';
import { DEFAULT_LEASE, LeaderElection } from '../leader/leader-election';
import { CallWindows } from '../calls/call-windows';
import { ControlPlaneMetrics } from './control-plane-metrics';
import { Disposables } from '../kernel/module';
import type { ControlPlaneOptions } from './plane-options';
import { ReplicaStatus } from './replica-status';

/**
 * What every feature of the control plane is built on: the store (timed), the engine catalogue, the
 * event bus, the leader election, this replica, the metrics registry, the fleet's call windows, the
 * gate every surface checks, and the one gRPC server each feature adds its services to. Features meet
 * through these and through the small ports their installers declare, never through each other's
 * objects.
 */
export interface PlaneContext {
  readonly options: ControlPlaneOptions;
  readonly store: ConfigStore;
  readonly engines: EngineCatalog;
  readonly bus: EventBus;
  readonly leader: LeaderElection;
  readonly logger: Logger;
  readonly replica: ReplicaStatus;
  readonly metrics: ControlPlaneMetrics;
  /** Every instance's calls over the last minute, fleet-wide (summaries, health, the feed). */
  readonly windows: CallWindows;
  readonly gate: PlaneGate;
  readonly grpc: grpc.Server;
  /** How often routers report, and LRS clients send load reports. */
  readonly reportIntervalMs: number;
  readonly lrsIntervalMs: number;
  /** A source that missed three reports in a row no longer counts. */
  readonly staleAfterMs: number;
  /** Subscriptions ended when the plane stops, before its modules stop. */
  readonly disposables: Disposables;
}

export function createPlaneContext(options: ControlPlaneOptions): PlaneContext {
  const { logger } = options;
  const raw = options.store;
  const replicaId = options.replicaId ?? `nerve-control-plane-${randomUUID().slice(0, 8)}`;
  const bus = new EventBus((event, err) =>
    logger.error('event handler failed', { event, error: err instanceof Error ? err.stack : String(err) }),
  );
  const leader = new LeaderElection(raw.lease, replicaId, bus, logger, options.lease ?? DEFAULT_LEASE);
  const metrics = new ControlPlaneMetrics(raw, leader, replicaId);
  const store = new InstrumentedStore(raw, (operation, seconds, ok) =>
    metrics.storeDuration.observe({ operation, outcome: ok ? 'ok' : 'error' }, seconds),
  );
  const reportIntervalMs = options.reportIntervalMs ?? 2_000;
  const lrsIntervalMs = options.lrsIntervalMs ?? 10_000;
  return {
    options,
    store,
    engines: new EngineCatalog(store, (name, errors) =>
      logger.error('stored engine is invalid; left out of routing', { engine: name, errors }),
    ),
    bus,
    leader,
    logger,
    replica: new ReplicaStatus(replicaId, options.host, store, leader),
    metrics,
    windows: new CallWindows(options.summaryWindowMs ?? 60_000),
    gate: createGate(store, options, metrics, logger),
    grpc: new grpc.Server(),
    reportIntervalMs,
    lrsIntervalMs,
    staleAfterMs: 3 * Math.max(reportIntervalMs, lrsIntervalMs),
    disposables: new Disposables(),
  };
}

/**
 * The store's changes and status as events on the bus, from its start on (before seeding, so the
 * seed's changes reach every feature like any other); a key revoked (or its role changed) ends the
 * streams and feeds it opened, on every replica.
 */
export function connectStore(ctx: PlaneContext): void {
  const { store, bus, logger, gate } = ctx;
  const recheck = () => void gate.auth.sessions.recheck();
  for (const unsubscribe of [
    store.watch((change) => bus.emit('config.changed', change)),
    ctx.engines.watch((event) => bus.emit('engine.changed', event)),
    store.watch((change) => {
      if (change.ops.some((op) => op.kind === API_KEY_KIND)) recheck();
    }),
    store.watchShared((change) => {
      if (change.ns === REVOKED_KEYS.name) recheck();
    }),
    store.watchStatus((status) => {
      logger.log(status.state === 'ok' ? 'info' : 'error', 'configuration store', {
        state: status.state,
        reason: status.reason,
      });
      bus.emit('store.status', status);
    }),
  ])
    ctx.disposables.add(unsubscribe);
}
