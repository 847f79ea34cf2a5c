import type { EngineSpec } from '../../model/engine';
import type { DriverName } from '../../model/runtime';
import type { JsonValue } from '../../model/config';

/** Per-instance operations on a managed instance (start, stop, restart). */
export type InstanceOp = 'start' | 'stop' | 'restart';

/** What a driver shows of one instance it runs (`GET /engines/:name`, shared between replicas). */
export type RuntimeRecord = { readonly [k: string]: JsonValue } & {
  readonly engine: string;
  readonly id: string;
  readonly state: string;
};

/**
 * How an engine's instances run, chosen by its spec's `runtime.driver`. Drivers act on the leader only:
 * the supervisor calls `lead` when this replica becomes leader, `follow` when it stops being it, and
 * `reconcile` whenever an engine of the driver changes or its timer ticks.
 */
export interface RuntimeDriver {
  readonly name: DriverName;
  /** Whether Nerve runs the instances (scale and per-instance operations apply). */
  readonly managed: boolean;
  /** Takes over what runs (adopting what a previous leader left), then reconciles. */
  lead(engines: readonly EngineSpec[]): Promise<void>;
  /** No longer leader: stops acting and leaves what runs running, for the next leader to adopt. */
  follow(): void;
  /** Brings what runs in line with the spec. Returns at once; transitions go on in the background. */
  reconcile(spec: EngineSpec): void;
  /** The engine was deleted or moved to another driver: stops everything it runs of it. */
  release(engine: string): Promise<void>;
  /** An operator's start / stop / restart of one instance. */
  operate(engine: string, instance: string, op: InstanceOp): void;
  /** Samples CPU and memory and bounds output files (every few seconds). */
  sample(): void;
  /** The control plane stops: stop every process, or leave them to the next leader. */
  shutdown(stopProcesses: boolean): Promise<void>;
}
