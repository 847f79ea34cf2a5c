import type { PlaneContext } from '../context/plane-context';
import type { FleetReads } from '../views/fleet-reads';
import { AlertModule } from './alert-module';
import { Notifier } from './notifier';

/**
 * Alerting on the leader: rules evaluated over the fleet's views, grouped, silenced, and notified
 * exactly once across replicas; the notifier reports each delivery attempt back to it.
 */
export function installAlerts(ctx: PlaneContext, reads: FleetReads) {
  const notifier = new Notifier(
    ctx.metrics.registry,
    ctx.logger,
    () => ctx.replica.externalUrl,
    (n, id, attempt, final) => alerts.onAttempt(n, id, attempt, final),
  );
  const alerts = new AlertModule(
    ctx.store,
    reads,
    ctx.bus,
    ctx.leader,
    notifier,
    ctx.logger,
    ctx.options.alertEvalMs,
    ctx.options.alertmanagerResendMs,
  );
  return { alerts, modules: [alerts] };
}
