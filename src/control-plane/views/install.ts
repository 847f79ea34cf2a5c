import type { EngineCircuitStatus } from '../circuits/circuit-board';
import { leaseLapsed } from '../fleet/leases';
import type { EngineStatusTracker } from '../health/engine-status';
import { checkStateOf } from '../health/health-module';
import type { HealthHistory } from '../health/health-history';
import type { PlaneContext } from '../context/plane-context';
import type { LoadStats } from '../reports/load-stats';
import type { StreamStatus } from '../xds/stream-state';
import { FleetViews } from './fleet-views';

/** What the views read beyond the store: state this replica holds in memory. */
export interface ViewPorts {
  readonly circuits: (engine: string, instanceIds: readonly string[]) => EngineCircuitStatus;
  readonly loads: LoadStats;
  readonly engineStatus: EngineStatusTracker;
  readonly healthHistory: HealthHistory;
  readonly xdsClients: () => StreamStatus[];
  /** How many xDS streams are open: what a health check shows, without each stream's status. */
  readonly xdsClientCount: () => number;
}

/** The read model: every read of every transport and observer. */
export function installViews(ctx: PlaneContext, ports: ViewPorts): FleetViews {
  const { store, replica } = ctx;
  return new FleetViews({
    store,
    engines: ctx.engines,
    checkState: (e, i) => checkStateOf(store, e, i),
    lapsed: (e, i) => leaseLapsed(store, e, i),
    circuits: ports.circuits,
    loads: ports.loads,
    windows: ctx.windows,
    engineStatus: ports.engineStatus,
    healthHistory: ports.healthHistory,
    replica: () => replica.view(),
    ready: () => replica.readiness(),
    xdsClients: ports.xdsClients,
    xdsClientCount: ports.xdsClientCount,
    xdsEndpoint: () => ({ host: replica.host, port: replica.port }),
    prometheus: () => ctx.metrics.registry.metrics(),
  });
}
