import type { Logger } from '../../observability/logger';
import type { ConfigStore } from '../../store/config-store';
import type { EngineCatalog } from '../config/engine-catalog';
import type { LeaderElection } from '../leader/leader-election';
import type { FleetEvents } from './fleet-events';

/** What drivers, leases and the autoscaler need of the control plane. */
export interface FleetContext {
  readonly store: ConfigStore;
  readonly engines: EngineCatalog;
  readonly leader: LeaderElection;
  readonly events: FleetEvents;
  readonly logger: Logger;
  /** Where managed instances' output files go. */
  readonly runDir: string;
  readonly replicaId: string;
  /** How often routers report: a drain waits at least one report after it reached them. */
  readonly reportIntervalMs: number;
  /** Whether the instance at `address` answers grpc.health.v1 SERVING within `timeoutMs`. */
  probe(address: string, timeoutMs: number): Promise<boolean>;
  /** Publishes the configuration and waits (at most `timeoutMs`) until this replica's xDS clients hold it. */
  pushed(timeoutMs: number): Promise<void>;
  /** Calls in flight at an instance, as routers last reported. */
  inFlight(engine: string, instanceId: string): number;
  /** The instance's share of answers from warm state (ORCA utilization `cache_hit_ratio`; 0 unreported). */
  warmth(engine: string, instanceId: string): number;
  /** Probes an instance now (it exited, or a restart made it ready): routing follows at once. */
  checkNow(engine: string, instanceId: string): void;
  /**
   * Closes an instance's circuits on every router: a restarted instance is a new process, and the
   * failures its predecessor's crash caused must not keep it out for the breaker's open time.
   */
  resetCircuit(engine: string, instanceId: string): Promise<void>;
}
