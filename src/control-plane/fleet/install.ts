import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Module } from '../kernel/module';
import type { PlaneContext } from '../context/plane-context';
import type { HealthState } from '../../model/engine';
import { Autoscaler, type EngineLoad } from './autoscaler';
import type { FleetContext } from './fleet-context';
import { FleetEvents } from './fleet-events';
import { Leases } from './leases';
import { Supervisor } from './supervisor';

/** What engine lifecycle needs of other features. */
export interface FleetPorts {
  /** Whether the instance at `address` answers grpc.health.v1 SERVING within `timeoutMs`. */
  probe(address: string, timeoutMs: number): Promise<boolean>;
  /** Publishes the configuration and waits (at most `timeoutMs`) until this replica's xDS clients hold it. */
  pushed(timeoutMs: number): Promise<void>;
  /** Probes an instance now. */
  checkNow(engine: string, instanceId: string): void;
  /** Closes an instance's circuits on every router. */
  resetCircuit(engine: string, instanceId: string): Promise<void>;
  /** An engine's calls in flight and p95 over the summary window: what the autoscaler decides from. */
  load(engine: string): EngineLoad;
  /** An instance's status as routing sees it. */
  instanceHealth(engine: string, instanceId: string): HealthState;
}

/**
 * Engine lifecycle: the fleet's events, registration leases, supervision of managed processes (by
 * their drivers) and autoscaling. Its context is what drivers, rollouts and weights build on too.
 */
export function installFleet(ctx: PlaneContext, ports: FleetPorts) {
  const { options, store } = ctx;
  const events = new FleetEvents(store, ctx.bus, ctx.leader, ctx.logger);
  const fleet: FleetContext = {
    store,
    engines: ctx.engines,
    leader: ctx.leader,
    events,
    logger: ctx.logger,
    runDir: options.runDir ?? join(tmpdir(), 'nerve-processes'),
    replicaId: ctx.replica.id,
    reportIntervalMs: ctx.reportIntervalMs,
    probe: (address, timeoutMs) => ports.probe(address, timeoutMs),
    pushed: (timeoutMs) => ports.pushed(timeoutMs),
    inFlight: (engine, id) => ctx.windows.inFlight(engine, id, 3 * ctx.reportIntervalMs),
    warmth: (engine, id) => ctx.windows.resources(engine, id)?.utilization.cache_hit_ratio ?? 0,
    checkNow: (engine, id) => ports.checkNow(engine, id),
    resetCircuit: (engine, id) => ports.resetCircuit(engine, id),
  };
  // Every replica follows the fleet's events (the leader writes them) onto its bus.
  let unfollow = (): void => undefined;
  const following: Module = {
    name: 'fleet-events',
    start: () => {
      unfollow = events.follow();
    },
    stop: () => unfollow(),
  };
  const leases = new Leases(fleet, ctx.bus, options.leaseRemoveAfterMs);
  const supervisor = new Supervisor(
    fleet,
    ctx.bus,
    options.stopProcessesOnStop ?? store.status().backend === 'memory',
  );
  const autoscaler = new Autoscaler(
    fleet,
    ctx.bus,
    (engine) => ports.load(engine),
    (engine, id) => ports.instanceHealth(engine, id),
  );
  return {
    fleet,
    events,
    leases,
    supervisor,
    autoscaler,
    modules: [
      following,
      leases,
      supervisor,
      ...(options.features?.autoscaling !== false ? [autoscaler] : []),
    ],
  };
}
