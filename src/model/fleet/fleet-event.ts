import type { JsonValue } from '../config';

export type FleetEventKind =
  | 'instance_started'
  | 'instance_ready'
  | 'instance_exited'
  | 'instance_stopped'
  | 'instance_adopted'
  | 'crash_loop'
  | 'scaled'
  | 'autoscale'
  | 'registered'
  | 'deregistered'
  | 'lease_lapsed'
  | 'lease_removed'
  | 'rollout_started'
  | 'rollout_step'
  | 'rollout_paused'
  | 'rollout_resumed'
  | 'rollout_promoted'
  | 'rollout_rolled_back'
  | 'rollout_aborted'
  | 'weights'
  | 'alert_action';

/** One thing that happened to an engine or an instance, with the facts it happened on. */
export interface FleetEvent {
  /** Unique and growing per engine (leader time, then a counter). */
  readonly id: string;
  readonly at: string;
  readonly kind: FleetEventKind;
  readonly engine: string;
  readonly instance?: string;
  readonly message: string;
  readonly data?: { readonly [k: string]: JsonValue };
}
