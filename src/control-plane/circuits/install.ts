import type { PlaneContext } from '../context/plane-context';
import { CircuitModule } from './circuit-module';

/** Circuit breakers: routers' circuit reports aggregated on the leader, shared, and reset on demand. */
export function installCircuits(ctx: PlaneContext) {
  // A router's view of a circuit counts for 10 s after its last report of it (routers report an
  // instance only while calling it or while its circuit is not closed).
  const circuits = new CircuitModule(
    ctx.store,
    ctx.engines,
    ctx.bus,
    ctx.leader,
    ctx.logger,
    Math.max(3 * ctx.reportIntervalMs, 10_000),
    ctx.reportIntervalMs,
  );
  return { circuits, modules: [circuits] };
}
