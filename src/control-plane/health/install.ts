import type { CheckState } from '../../model/health';
import { circuitResource } from '../circuits/circuit-module';
import type { PlaneContext } from '../context/plane-context';
import { EngineStatusTracker } from './engine-status';
import { HealthModule } from './health-module';
import { RoutingHistory } from './routing-history';

export interface HealthPorts {
  /** Every probe's result (on the leader), for metrics. */
  onProbe(engine: string, instanceId: string, state: CheckState): void;
}

/**
 * Health: active probes on the leader, engines' statuses with hysteresis, and the routing history of
 * every instance (probes, drains, circuits, routers' ejections).
 */
export function installHealth(ctx: PlaneContext, ports: HealthPorts) {
  const { options } = ctx;
  const health = new HealthModule(
    ctx.store,
    ctx.engines,
    ctx.bus,
    ctx.leader,
    ctx.logger,
    options.healthChecks !== false && options.features?.activeHealthChecks !== false,
    (engine, id, state) => ports.onProbe(engine, id, state),
  );
  const engineStatus = new EngineStatusTracker(options.engineHoldMs);
  ctx.disposables.add(
    ctx.bus.on('engine.changed', (e) => {
      if (e.kind !== 'put') engineStatus.forget(e.name);
    }),
  );
  const routing = new RoutingHistory(
    ctx.bus,
    ctx.engines,
    ctx.leader,
    (engine) => circuitResource(ctx.store, engine).instances,
    (engine, t) => health.note(engine, t),
  );
  return { health, engineStatus, modules: [health, routing] };
}
