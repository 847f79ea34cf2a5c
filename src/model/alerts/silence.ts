import type { Alert } from './alert';
import { labelOf } from './matchers';
import type { GroupLabel } from './rule';

/** A silence: alerts whose labels match every matcher are not notified until `endsAtMs`. */
export interface Silence {
  readonly id: string;
  readonly matchers: readonly { readonly label: GroupLabel; readonly value: string }[];
  readonly endsAtMs: number;
  readonly createdBy: string;
  readonly comment: string;
}

export function silenced(alert: Alert, silences: readonly Silence[], nowMs: number): boolean {
  return silences.some(
    (s) =>
      s.endsAtMs > nowMs &&
      s.matchers.length > 0 &&
      s.matchers.every((m) => labelOf(alert, m.label) === m.value),
  );
}
