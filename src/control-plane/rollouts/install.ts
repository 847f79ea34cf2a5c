import type { EventBus } from '../kernel/events';
import type { FleetContext } from '../fleet/fleet-context';
import { RolloutModule } from './rollout-module';
import type { CallWindows } from '../calls/call-windows';

/** Canary rollouts: progressive weight shifts judged on the fleet's calls, run by the leader. */
export function installRollouts(fleet: FleetContext, bus: EventBus, windows: CallWindows) {
  const rollouts = new RolloutModule(fleet, bus, windows);
  return { rollouts, modules: [rollouts] };
}
