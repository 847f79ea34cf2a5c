import type { EventBus } from '../kernel/events';
import type { FleetContext } from '../fleet/fleet-context';
import type { CallWindows } from '../calls/call-windows';
import { WeightsModule } from './weights-module';

/** Closed-loop weights: instances' weights from their measured latency and utilisation, on the leader. */
export function installWeights(fleet: FleetContext, bus: EventBus, windows: CallWindows) {
  const weights = new WeightsModule(fleet, bus, windows);
  return { weights, modules: [weights] };
}
