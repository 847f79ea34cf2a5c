import { circuitResource } from '../circuits/circuit-module';
import { canaryRoute } from '../rollouts/canary-route';
import { baseVersions } from '../rollouts/base-versions';
import { leaseLapsed } from '../fleet/leases';
import { checkStateOf } from '../health/health-module';
import { XdsMetrics } from './xds-metrics';
import type { PlaneContext } from '../context/plane-context';
import { servedWeights } from '../weights/weights-module';
import { AdsServer, DEFAULT_XDS_SERVING } from './ads-server';
import { addCsds } from './csds-service';
import { InMemorySnapshotCache } from './snapshot-cache';
import { SnapshotBuilder } from './snapshot-builder';
import { SnapshotModule } from './snapshot-module';

/**
 * xDS: the snapshot built from the configuration and what the leader shares of the fleet (health,
 * lapsed leases, closed-loop weights, circuits), and the ADS server that streams it. Everything the
 * snapshot reads is in the store, so every replica serves the same.
 */
export function installXds(ctx: PlaneContext) {
  const { store, logger } = ctx;
  const cache = new InMemorySnapshotCache();
  const storm = { ...DEFAULT_XDS_SERVING, ...ctx.options.xds };
  const builder = new SnapshotBuilder(
    ctx.engines,
    cache,
    (engine, id) => (leaseLapsed(store, engine, id) ? 'unhealthy' : checkStateOf(store, engine, id).status),
    (err) => logger.error('snapshot rebuild failed; serving the last good one', { error: String(err) }),
    ctx.options.debounce,
    (engine) => circuitResource(store, engine),
    (engine) => canaryRoute(store, engine),
    {
      served: (spec) => servedWeights(store, spec),
      base: (spec) => ({
        ...spec,
        versions: baseVersions(store, spec),
        instances: spec.instances.map((i) => (i.draining ? { ...i, draining: false } : i)),
      }),
      overrideTtlMs: storm.overrideTtlMs,
    },
  );
  const xdsMetrics: XdsMetrics = new XdsMetrics(
    ctx.metrics.registry,
    () => ads.counts(),
    () => ads.firstResponseQueue(),
  );
  cache.watch((snapshot) => xdsMetrics.onSnapshot(snapshot));
  const ads: AdsServer = new AdsServer(
    cache,
    logger,
    ctx.replica.id,
    {
      ...xdsMetrics.hooks,
      onNack: (nodeId, typeUrl, version, error) => {
        xdsMetrics.hooks.onNack?.(nodeId, typeUrl, version, error);
        ctx.bus.emit('xds.nack', { nodeId, typeUrl, version, error });
      },
      refuse: () => ctx.replica.emptyAndDiverged(),
    },
    ctx.gate.auth,
    storm,
  );
  addCsds(
    ctx.grpc,
    ctx.gate.auth,
    () => ads.clients(),
    () => cache.snapshot,
  );
  const flush = () => builder.rebuild();
  return {
    cache,
    ads,
    /** Rebuilds and publishes the snapshot now (changes trigger it on their own). */
    flush,
    /**
     * Publishes the configuration now and waits, at most `timeoutMs`, until every xDS client of this
     * replica holds and has ACKed it (a drain has then reached them).
     */
    pushed: async (timeoutMs: number): Promise<void> => {
      await flush();
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        // Polled every 20 ms: asked of each stream, not built as every stream's status.
        if (ads.allInSync()) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    closeStreams: () => ads.closeAll(),
    modules: [new SnapshotModule(builder, ctx.bus)],
  };
}
