import type { Alert } from '../../model/alerts/alert';
import type { ActionRecord } from '../../model/alerts/action-plan';
import type { GroupState, Notification } from '../../model/alerts/grouping';
import type { Attempt } from './notifier';
import { SharedNamespace } from '../../store/shared-namespace';

/** Shared namespace of the alerting state (one field, written by the leader with its fence). */
export const ALERTS_NS = new SharedNamespace<AlertingState>('alerts', 'the leader (alerting), fenced');
export const STATE_FIELD = 'state';
/** Shared namespace of acknowledgements any replica takes: alert id → {by, atMs}; the leader applies them. */
export const ACKS_NS = new SharedNamespace<{ readonly by: string; readonly atMs: number }>(
  'alert-acks',
  'any replica that takes an acknowledgement; the leader clears what it applied',
);

/** A notification to deliver to one channel: written before the first attempt, done after the last. */
export interface OutboxEntry {
  readonly id: string;
  readonly channel: string;
  readonly notification: Notification;
  readonly done: boolean;
}

/** Everything alerting keeps: alerts (open and recent resolved), the groups' log, the outbox, attempts. */
export interface AlertingState {
  readonly alerts: readonly Alert[];
  readonly log: readonly GroupState[];
  readonly outbox: readonly OutboxEntry[];
  /** Delivery attempts by alert id (newest last, at most 20 each). */
  readonly attempts: Readonly<Record<string, readonly Attempt[]>>;
  /** Alerts muted by inhibit rules at the last evaluation: alert id → rule ids (absent in older states). */
  readonly inhibited?: Readonly<Record<string, readonly string[]>>;
  /** When firing alerts were last sent again to Alertmanager channels (absent in older states). */
  readonly resentAtMs?: number;
  /** Actions alerts took, or were refused (newest last, at most ACTIONS_KEPT; absent in older states). */
  readonly actions?: readonly ActionRecord[];
}

/** Approvals of actions waiting for one, taken by any replica: action record id → {by, atMs}. */
export const ACTION_APPROVALS_NS = new SharedNamespace<{ readonly by: string; readonly atMs: number }>(
  'alert-action-approvals',
  'any replica that takes an approval; the leader clears what it applied',
);

/** Action records kept for history. */
export const ACTIONS_KEPT = 500;

export const EMPTY_STATE: AlertingState = { alerts: [], log: [], outbox: [], attempts: {} };

/** Resolved alerts kept for history and statistics. */
export const RESOLVED_KEPT = 500;
