import { ACKS_NS, ALERTS_NS } from '../alerts/alert-state';
import { AlertViews } from '../alerts/alert-views';
import type { PlaneContext } from '../context/plane-context';
import type { FleetReads } from '../views/fleet-reads';
import { FeedHub } from './feed-hub';
import { FeedModule } from './feed-module';

/** The live feed's source: what changed, published to the hub the transports (src/api/feed) serve. */
export function installFeed(ctx: PlaneContext, reads: FleetReads) {
  const hub = new FeedHub();
  const alerts = new AlertViews(ctx.store);
  const feed = new FeedModule(
    hub,
    reads,
    () => alerts.list({}),
    ctx.engines,
    ctx.bus,
    ctx.options.feedPeriods,
  );
  ctx.disposables.add(
    ctx.store.watchShared((c) => {
      // An acknowledgement shows on the feed at once, as on REST (before the leader applies it).
      if (c.ns === ALERTS_NS.name || c.ns === ACKS_NS.name) feed.publishAlerts();
    }),
  );
  return { hub, modules: [feed] };
}
