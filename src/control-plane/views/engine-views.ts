import type { StoreStatus } from '../../store/config-store';
import type { EnginePolicy } from '../../../gen/nerve/discovery/v1/policy';
import type { HealthState } from '../../model/engine';
import type { LoadView } from '../reports/load-stats';
import type { HealthReason } from '../../model/health-rollup';
import type { CallStats } from '../calls/call-accumulator';
import type { RuntimeSpec } from '../../model/runtime';
import type { ProcessRecord } from '../fleet/process-record';
import type { RuntimeView } from './runtime-view';
import type { AdaptiveWeights } from '../../model/adaptive-weights';
import type { RegistrationPolicy } from '../../model/registration-policy';

/** An engine as operators see it (REST JSON and, mapped, admin gRPC). */
export interface EngineView {
  readonly name: string;
  readonly namespace: string;
  readonly versions: readonly { readonly name: string; readonly weight: number }[];
  readonly instances: readonly InstanceView[];
  readonly policy: EnginePolicy;
  readonly services: readonly string[];
  readonly adaptiveWeights?: AdaptiveWeights;
  readonly registration?: RegistrationPolicy;
  readonly revision: number;
  /** Calls xDS clients dropped for this engine over the last report interval. */
  readonly dropped: number;
  /** The spec's runtime (driver, command, replicas, autoscale), when it has one. */
  readonly runtimeSpec?: RuntimeSpec;
  /** How it runs now: size, recent lifecycle events, autoscaling decisions. */
  readonly runtime?: RuntimeView;
}

export interface InstanceView {
  readonly id: string;
  readonly address: string;
  readonly version: string;
  readonly weight: number;
  readonly health: HealthState;
  readonly priority: number;
  /** Set by an operator: no new calls. */
  readonly draining: boolean;
  readonly load?: LoadView;
  /** A managed instance's process (process driver). */
  readonly process?: ProcessRecord;
  /** A registered instance's lease. */
  readonly lease?: {
    readonly ttlMs: number;
    readonly registeredAt: string;
    readonly renewedAt: string;
    readonly expiresAt: string;
    readonly lapsedAt: string | null;
  };
}

export type OverallStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface InstanceHealthView {
  readonly id: string;
  readonly address: string;
  readonly version: string;
  readonly health: HealthState;
  /** Why it is not simply healthy (empty when it is). */
  readonly reasons: readonly HealthReason[];
  /** Its calls over the summary window, fleet-wide (absent before any report). */
  readonly calls?: CallStats;
  /** What it last reported of its own load (ORCA). */
  readonly cpuUtilization?: number;
  readonly memUtilization?: number;
  readonly resourcesAt?: string;
  readonly consecutiveFailures: number;
  readonly lastError: string;
  /** When the last probe ran, Unix ms (0: never); `lastCheckAt` is the same in RFC 3339 (null: never). */
  readonly lastCheckMs: number;
  readonly lastCheckAt: string | null;
  readonly lastCheckLatencyMs: number;
}

export interface EngineHealthView {
  readonly name: string;
  /** The status with hysteresis applied (what operators and alerts see). */
  readonly status: OverallStatus;
  /** The status its instances give right now. */
  readonly rawStatus: OverallStatus;
  readonly statusSince?: string;
  readonly healthyInstances: number;
  readonly totalInstances: number;
  readonly instances: readonly InstanceHealthView[];
}

export interface HealthReport {
  readonly status: OverallStatus;
  readonly engines: readonly EngineHealthView[];
  /** The configuration store as this replica sees it (degraded: its reason). */
  readonly store?: StoreStatus;
  readonly replica?: {
    readonly id: string;
    readonly leader: boolean;
    readonly leaderFence: string | null;
    readonly startedAt: string;
  };
}
