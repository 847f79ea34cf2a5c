import { ACTIVE } from '../../model/rollout';
import { desiredReplicas } from '../../model/runtime';
import { NerveError } from '../../model/errors';
import { echo } from '../../model/echo';
import type { AlertActuator } from '../alerts/alert-actions';
import type { FleetEvents } from '../fleet/fleet-events';
import type { AdminService } from './admin-service';
import type { EngineCatalog } from '../config/engine-catalog';
import type { ConfigStore } from '../../store/config-store';

/**
 * Alert actions through the admin commands: the same validation, audit line and configuration version
 * as an operator's call, with the actor `alert:<rule>`. Each checks the state first, so taking it again
 * changes nothing.
 */
export function alertActuator(
  admin: AdminService,
  engines: EngineCatalog,
  store: ConfigStore,
  events: FleetEvents,
): AlertActuator {
  const draining = (engine: string, instance: string) => {
    const spec = engines.getNow(engine);
    const i = spec?.instances.find((x) => x.id === instance);
    if (!i) throw new NerveError('NOT_FOUND', `engine ${echo(engine)} has no instance ${echo(instance)}`);
    return i.draining;
  };
  return {
    drain: async (engine, instance, ctx) => {
      if (!draining(engine, instance)) await admin.drainInstance(engine, instance, ctx);
    },
    undrain: async (engine, instance, ctx) => {
      if (draining(engine, instance)) await admin.undrainInstance(engine, instance, ctx);
    },
    pauseRollout: async (engine, ctx) => {
      const r = admin.rollouts.list(engine).find((x) => ACTIVE.has(x.state));
      if (!r) throw new NerveError('FAILED_PRECONDITION', `engine ${echo(engine)} has no rollout under way`);
      if (r.state !== 'paused') await admin.rollouts.act(engine, r.id, 'pause', ctx);
      return r.id;
    },
    resumeRollout: async (engine, rollout, ctx) => {
      const r = admin.rollouts.list(engine).find((x) => x.id === rollout);
      if (r?.state === 'paused') await admin.rollouts.act(engine, rollout, 'resume', ctx);
    },
    replicas: (engine) => {
      const rt = engines.getNow(engine)?.runtime;
      if (!rt || rt.driver !== 'process') return undefined;
      return { current: desiredReplicas(rt), min: rt.minReplicas, max: rt.maxReplicas };
    },
    // An alert's scale holds against the autoscaler for its cooldown, as an operator's forced one does.
    scale: async (engine, replicas, ctx) => {
      await admin.fleet.scale(engine, { replicas }, ctx, true);
    },
    pinWeight: async (engine, instance, weight, ctx) => {
      await admin.weights.pin(engine, instance, weight, ctx);
    },
    unpinWeight: async (engine, instance, ctx) => {
      await admin.weights.pin(engine, instance, undefined, ctx);
    },
    version: () => store.version(),
    event: (engine, instance, message, data) =>
      events.record('alert_action', engine, message, instance ?? undefined, data),
  };
}
