import type { ConfigStore } from '../../store/config-store';
import type { EngineCatalog } from '../config/engine-catalog';
import type { Logger } from '../../observability/logger';
import type { Circuits } from '../circuits/circuit-admin';
import type { Leases } from '../fleet/leases';
import type { FleetEvents } from '../fleet/fleet-events';
import type { RolloutModule } from '../rollouts/rollout-module';
import type { WeightsModule } from '../weights/weights-module';
import type { Features } from '../../config/features';
import type { FleetViews } from '../views/fleet-views';

/** What AdminService acts through: the store, and the features whose commands it carries. */
export interface AdminDeps {
  readonly store: ConfigStore;
  readonly engines: EngineCatalog;
  /** The views commands answer with. */
  readonly views: FleetViews;
  readonly circuits: Circuits;
  /** Where every change is logged (who, what, request id). */
  readonly logger: Logger;
  /** Runs an alert evaluation now when this replica leads (a no-op elsewhere), resolved once written. */
  readonly evaluateAlerts: () => Promise<void>;
  /** Registration leases, and the fleet's lifecycle events. */
  readonly leases: Leases;
  readonly fleetEvents: FleetEvents;
  /** Where managed instances' output files are. */
  readonly runDir: string;
  readonly rollouts: RolloutModule;
  readonly weights: WeightsModule;
  /** Names of the keys the settings hold (API_KEYS). */
  readonly staticKeyNames: () => readonly string[];
  /** The feature flags this process started with. */
  readonly features?: Features;
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
