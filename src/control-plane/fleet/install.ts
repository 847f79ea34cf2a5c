import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Module } from '../module';
import type { PlaneContext } from '../plane-context';
import type { FleetReads } from '../views/fleet-reads';
import { Autoscaler } from './autoscaler';
import type { FleetContext } from './fleet-context';
import { FleetEvents } from './fleet-events';
import { Leases } from './leases';
import { probeOnce } from './probe-once';
import { Supervisor } from './supervisor';

/** What engine lifecycle needs of other features. */
export interface FleetPorts {
  /** Publishes the configuration and waits (at most `timeoutMs`) until this replica's xDS clients hold it. */
  pushed(timeoutMs: number): Promise<void>;
  /** Probes an instance now. */
  checkNow(engine: string, instanceId: string): void;
  /** Closes an instance's circuits on every router. */
  resetCircuit(engine: string, instanceId: string): Promise<void>;
  /** The views the autoscaler decides from. */
  readonly reads: FleetReads;
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
    probe: probeOnce,
    pushed: (timeoutMs) => ports.pushed(timeoutMs),
    inFlight: (engine, id) => ctx.windows.inFlight(engine, id, 3 * ctx.reportIntervalMs),
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
    (engine) => {
      const e = ports.reads.summary({ engines: [engine] }).engines[0];
      return { inFlight: e?.inFlight ?? 0, p95Ms: e && e.requests > 0 ? e.p95Ms : undefined };
    },
    (engine, id) => ports.reads.instanceHealth(engine, id),
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
