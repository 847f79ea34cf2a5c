import type { HealthState } from '../../model/engine';
import type { Summary } from './metrics-views';
import type { HealthReport } from './engine-views';
import type { EngineCircuitStatus } from '../circuits/circuit-board';
import type { HealthTransition } from '../health/health-history';

/**
 * What the control plane's observers (alerting, the live feed, the autoscaler) read of the fleet: the
 * views every transport shows, and none of the commands. They depend on this port, not on the admin
 * service, so each can be built over any source of these views (a test's, a replica's).
 */
export interface FleetReads {
  /** The fleet's health, or one engine's, as GET /health answers it. */
  health(engine?: string): Promise<HealthReport>;
  /** One instance's health as routing sees it. */
  instanceHealth(engine: string, instanceId: string): HealthState;
  /** An engine's routing history held on this replica, newest last. */
  healthHistoryNow(engine: string, sinceMs?: number): HealthTransition[];
  /** Calls, errors and latency over the last window, fleet-wide. */
  summary(filter?: { engines?: readonly string[] }): Summary;
  /** Circuit states aggregated over every router. */
  circuits(): Promise<EngineCircuitStatus[]>;
}
