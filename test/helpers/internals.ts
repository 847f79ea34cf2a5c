import { type ControlPlane, PARTS } from '../../src/control-plane/control-plane';

/**
 * Inside a control plane, for tests and benchmarks that check a feature's state directly: its
 * context's store, catalogue, bus and leader, and each feature's parts. Production code goes through
 * what `ControlPlane` shows (admin, views, feed, gate, metrics).
 */
export function internals(cp: ControlPlane) {
  const p = cp[PARTS];
  return {
    store: p.ctx.store,
    engines: p.ctx.engines,
    bus: p.ctx.bus,
    leader: p.ctx.leader,
    ads: p.xds.ads,
    cache: p.xds.cache,
    health: p.health.health,
    circuits: p.circuits.circuits,
    leases: p.fleet.leases,
    fleetEvents: p.fleet.events,
    supervisor: p.fleet.supervisor,
    autoscaler: p.fleet.autoscaler,
    rollouts: p.rollouts.rollouts,
    weights: p.weights.weights,
    alerts: p.alerts.alerts,
  };
}
