import type { EventBus } from '../kernel/events';
import type { FleetContext } from '../fleet/fleet-context';
import { RolloutModule } from './rollout-module';

/** Canary rollouts: progressive weight shifts judged on the fleet's calls, run by the leader. */
export function installRollouts(fleet: FleetContext, bus: EventBus) {
  const rollouts = new RolloutModule(fleet, bus);
  return { rollouts, modules: [rollouts] };
}
