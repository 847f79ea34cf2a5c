import type { CheckState } from '../../model/health';
import type { ConfigStore } from '../../store/config-store';
import type { EngineCatalog } from '../config/engine-catalog';
import type { LoadStats } from '../reports/load-stats';
import type { StreamStatus } from '../xds/stream-state';
import type { Logger } from '../../observability/logger';
import type { Authenticator } from '../../security/authenticator';
import type { CallLimits } from '../../security/call-limits';
import type { Circuits } from './circuit-admin';
import type { CallWindows } from '../metrics/call-windows';
import type { EngineStatusTracker } from '../health/engine-status';
import type { HealthHistory } from '../health/health-history';
import type { AlertingState } from '../alerts/alert-state';
import type { Leases } from '../fleet/leases';
import type { Supervisor } from '../fleet/supervisor';
import type { FleetEvents } from '../fleet/fleet-events';
import type { AutoscaleState } from '../fleet/autoscaler';
import type { RolloutModule } from '../rollouts/rollout-module';
import type { WeightsModule } from '../weights/weights-module';
import type { Features } from '../../config/features';

/** What AdminService is made of: the control plane's parts it reads and acts through. */
export interface AdminDeps {
  readonly store: ConfigStore;
  readonly engines: EngineCatalog;
  readonly checkState: (engine: string, instanceId: string) => CheckState;
  readonly loads: LoadStats;
  readonly circuits: Circuits;
  readonly xdsClients: () => StreamStatus[];
  /** Where xDS clients reach this control plane (bind host and port). */
  readonly xdsEndpoint: () => { host: string; port: number };
  /** This replica: its id, whether it leads, and the leader's fence as last seen. */
  readonly replica: () => ReplicaView;
  /** The control plane's metrics in Prometheus text format. */
  readonly prometheus?: () => Promise<string>;
  /** Where every change is logged (who, what, request id). */
  readonly logger?: Logger;
  /** Every instance's calls over the summary window, fleet-wide. */
  readonly windows?: CallWindows;
  /** Engines' statuses with hysteresis. */
  readonly engineStatus?: EngineStatusTracker;
  /** Health transitions as the leader recorded them. */
  readonly healthHistory?: HealthHistory;
  /** Whether this replica is ready to serve (readiness probes). */
  readonly ready?: () => { ready: boolean; reason?: string };
  /** The alerting state as the leader last wrote it. */
  readonly alerting?: () => AlertingState;
  /** Runs an alert evaluation now when this replica leads (a no-op elsewhere), resolved once written. */
  readonly evaluateAlerts?: () => Promise<void>;
  /** Registration leases, supervision and its events, autoscaling decisions (engine lifecycle). */
  readonly leases?: Leases;
  readonly supervisor?: Supervisor;
  readonly fleetEvents?: FleetEvents;
  readonly autoscale?: (engine: string) => AutoscaleState | undefined;
  /** Where managed instances' output files are. */
  readonly runDir?: string;
  readonly rollouts?: RolloutModule;
  readonly weights?: WeightsModule;
  /** Who may call (off: everyone is an admin). */
  readonly auth?: Authenticator;
  /** Names of the keys the settings hold (API_KEYS). */
  readonly staticKeyNames?: () => readonly string[];
  /** Rate limits per address and credential (default DEFAULT_CALL_LIMITS, in memory). */
  readonly limits?: CallLimits;
  /** The feature flags this process started with. */
  readonly features?: Features;
}

export interface ReplicaView {
  readonly id: string;
  readonly leader: boolean;
  /** The leader's fence (`replica:token`) as this replica last saw it. */
  readonly leaderFence: string | null;
  readonly startedAt: string;
}

export interface AddInstanceInput {
  readonly engine: string;
  readonly id: string;
  readonly address: string;
  readonly version?: string;
  readonly weight?: number;
  readonly priority?: number;
  readonly createEngine?: boolean;
}
