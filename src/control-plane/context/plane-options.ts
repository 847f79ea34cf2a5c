import type { Features } from '../../config/features';
import type { EngineSpec } from '../../model/engine';
import type { JsonValue } from '../../model/config';
import type { Logger } from '../../observability/logger';
import type { StaticKey } from '../../security/api-key-registry';
import type { CallLimitSettings } from '../../security/call-limits';
import type { JwtSettings } from '../../security/jwt-verifier';
import type { TlsFiles } from '../../security/tls-files';
import type { ConfigStore } from '../../store/config-store';
import type { LeaseTimings } from '../leader/leader-election';

/** How a control plane is set up: its store, where it listens, and each feature's settings. */
export interface ControlPlaneOptions {
  readonly store: ConfigStore;
  readonly logger: Logger;
  /** Host to bind the gRPC server to. */
  readonly host: string;
  /** 0 picks a free port; `port` tells which. */
  readonly xdsPort: number;
  /** Engines to store at start (from the config file); stored ones of the same name are replaced. */
  readonly engines?: readonly EngineSpec[];
  /** Alert rules, channels and silences to store at start (from the config file). */
  readonly entries?: readonly { kind: string; name: string; value: JsonValue }[];
  readonly reportIntervalMs?: number;
  /** How often xDS clients send LRS load reports. */
  readonly lrsIntervalMs?: number;
  /** Off: no active health checks, every instance stays `unknown` (routable). For benchmarks and tests. */
  readonly healthChecks?: boolean;
  /** Feature flags (config/features.ts): activeHealthChecks and autoscaling act here. */
  readonly features?: Features;
  /** Push debouncing; defaults to DEFAULT_DEBOUNCE. */
  readonly debounce?: DebounceOptions;
  /** This replica's id (in fences, /stats and xDS `control_plane`); default a random one. */
  readonly replicaId?: string;
  readonly lease?: LeaseTimings;
  /** The window of /metrics/summary and of health's call figures (default 60 s). */
  readonly summaryWindowMs?: number;
  /** Periods of the live feed's metrics and health topics (default 5 s and 10 s). */
  readonly feedPeriods?: FeedPeriods;
  /** How often the leader evaluates alert rules (default 500 ms). */
  readonly alertEvalMs?: number;
  /** How often alerts still firing are sent again to Alertmanager channels (tests shorten it). */
  readonly alertmanagerResendMs?: number;
  /** How long a better engine status must hold before it is reported (default 30 s). */
  readonly engineHoldMs?: number;
  /** Where managed instances' output files go (default `<tmpdir>/nerve-processes`). */
  readonly runDir?: string;
  /**
   * Stop managed processes when this control plane stops. Default: yes in memory (one replica, nothing
   * would supervise them), no with Redis (the next leader adopts them).
   */
  readonly stopProcessesOnStop?: boolean;
  /** How long an instance whose lease lapsed stays listed (unhealthy) before it is removed (default 5 min). */
  readonly leaseRemoveAfterMs?: number;
  /** Authentication of every surface (default: off, every caller is an admin). */
  readonly auth?: AuthSettings;
  /** Rate limits of REST and admin gRPC (default DEFAULT_CALL_LIMITS, in memory). */
  readonly callLimits?: CallLimitSettings;
  /** TLS on the gRPC port (xDS, admin, reports); with a CA, clients must present certificates (mTLS). */
  readonly tls?: TlsFiles;
  /** xDS serving (storm control, override TTLs), over its defaults (xds/ads-server.ts DEFAULT_XDS_SERVING). */
  readonly xds?: Partial<XdsServing>;
}

/** ENABLE_AUTH, the JWT key source, keys from the settings (API_KEYS). */
export interface AuthSettings {
  readonly enabled: boolean;
  readonly jwt?: JwtSettings;
  readonly apiKeys?: readonly StaticKey[];
}

/** xDS push debouncing: each feature's settings live here, so the context depends on no feature. */
export interface DebounceOptions {
  /** Quiet period: a rebuild waits until no change arrived for this long. */
  readonly debounceMs: number;
  /** Bound: no change waits longer than this for its rebuild, however long the burst. */
  readonly maxDelayMs: number;
}

/** How often the live feed publishes its periodic topics. */
export interface FeedPeriods {
  /** metrics: every 5 s. */
  readonly metricsMs: number;
  /** health: every 10 s (and on every change). */
  readonly healthMs: number;
}

/**
 * How the xDS server serves: storm control (a fleet connecting or changing at once does not swamp the
 * control plane) and the TTL of runtime overrides for clients that support resource TTLs.
 */
export interface XdsServing {
  /** First (full) responses in flight at once; streams beyond wait in the order they came. */
  readonly firstResponses: number;
  /** How long a stream keeps its place waiting for the client to answer its first response. */
  readonly firstResponseHoldMs: number;
  /** Each stream's sustained requests a second, and its burst. */
  readonly requestsPerSecond: number;
  readonly requestBurst: number;
  /** Longest stretch of pushing before the event loop serves others (a fleet-wide push goes in slices). */
  readonly pushSliceMs: number;
  /** How long a client keeps an override (drain, pin, rollout weights) it hears nothing more of. */
  readonly overrideTtlMs: number;
  /** How often the overrides' TTL is refreshed on every stream that holds them (below overrideTtlMs). */
  readonly heartbeatMs: number;
}
