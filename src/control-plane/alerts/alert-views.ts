import { acknowledge, type Alert } from '../../model/alerts/alert';
import { SEVERITIES } from '../../model/alerts/rule';
import { echo } from '../../model/echo';
import { NerveError } from '../../model/errors';
import type { ConfigStore } from '../../store/config-store';
import { ACKS_NS, ALERTS_NS, type AlertingState, EMPTY_STATE, STATE_FIELD } from './alert-state';

const STATES = ['pending', 'firing', 'acknowledged', 'resolved'];

/** An alert as REST, gRPC and the feed show it (ALERT). */
export function alertView(a: Alert, state: AlertingState) {
  const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);
  return {
    id: a.id,
    rule: a.rule,
    severity: a.severity,
    state: a.state,
    engine: a.engine,
    instance: a.instance,
    value: a.value,
    summary: a.summary,
    startedAt: iso(a.startedAtMs),
    resolvedAt: iso(a.resolvedAtMs),
    acknowledgedAt: iso(a.acknowledgedAtMs),
    acknowledgedBy: a.acknowledgedBy || null,
    /** The inhibit rules muting it (an alert they mute is listed, never notified). */
    inhibitedBy: state.inhibited?.[a.id] ?? [],
    /** What the rule's actions did for this firing of the alert (audited as actor `alert:<rule>`). */
    actions: (state.actions ?? [])
      .filter((r) => r.id.startsWith(`${a.id}@${a.startedAtMs}#`))
      .map((r) => ({
        index: r.index,
        type: r.type,
        state: r.state,
        reason: r.reason,
        requestedAt: iso(r.requestedAtMs),
        doneAt: iso(r.doneAtMs),
        approvedBy: r.approvedBy ?? null,
        configVersion: r.configVersion ?? null,
      })),
    notifications: (state.attempts[a.id] ?? []).map((n) => ({
      channel: n.channel,
      at: n.at,
      ok: n.ok,
      error: n.error ?? null,
    })),
  };
}

export type AlertView = ReturnType<typeof alertView>;

/**
 * Newest first. Alerts raised by one evaluation share a start, so the id breaks the tie: the leader
 * rewrites its list each evaluation, and two reads must not disagree on the order.
 */
function newestFirst(a: Alert, b: Alert): number {
  return b.startedAtMs - a.startedAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * Alerts as every replica shows them: the leader's last written state with the acknowledgements any
 * replica took since applied, filtered and counted. Read from the store alone, so it needs no part of
 * alerting's evaluation.
 */
export class AlertViews {
  constructor(private readonly store: ConfigStore) {}

  /** The alerting state as the leader last wrote it. */
  state(): AlertingState {
    return ALERTS_NS.get(this.store, STATE_FIELD) ?? EMPTY_STATE;
  }

  list(filter: { state?: string; severity?: string; engine?: string } = {}) {
    if (filter.state && !STATES.includes(filter.state))
      throw new NerveError(
        'INVALID_ARGUMENT',
        `state must be one of ${STATES.join(', ')}, got ${echo(filter.state, 32)}`,
      );
    if (filter.severity && !(SEVERITIES as readonly string[]).includes(filter.severity))
      throw new NerveError(
        'INVALID_ARGUMENT',
        `severity must be one of ${SEVERITIES.join(', ')}, got ${echo(filter.severity, 32)}`,
      );
    const s = this.state();
    return this.withAcks(s.alerts)
      .filter((a) => a.state !== 'pending' || filter.state === 'pending')
      .filter((a) => !filter.state || a.state === filter.state)
      .filter((a) => !filter.severity || a.severity === filter.severity)
      .filter((a) => !filter.engine || a.engine === filter.engine)
      .sort(newestFirst)
      .map((a) => alertView(a, s));
  }

  /**
   * Alerts as the leader last wrote them, with the acknowledgements any replica took since applied:
   * the answer to an acknowledgement, and every read after it, show it acknowledged at once (the
   * leader applies the same record at its next evaluation).
   */
  withAcks(alerts: readonly Alert[]): Alert[] {
    const acks = ACKS_NS.map(this.store);
    if (acks.size === 0) return [...alerts];
    return alerts.map((a) => {
      const ack = acks.get(a.id) as { by: string; atMs: number } | undefined;
      return ack ? acknowledge(a, ack.by, ack.atMs) : a;
    });
  }

  /** Counts by rule and severity and state; mean time to acknowledge and to resolve. */
  stats() {
    const alerts = this.withAcks(this.state().alerts).filter((a) => a.state !== 'pending');
    const byRule: Record<string, number> = {};
    const bySeverity: Record<string, number> = {};
    const byState: Record<string, number> = {};
    let ackSum = 0,
      ackN = 0,
      resolveSum = 0,
      resolveN = 0;
    for (const a of alerts) {
      byRule[a.rule] = (byRule[a.rule] ?? 0) + 1;
      bySeverity[a.severity] = (bySeverity[a.severity] ?? 0) + 1;
      byState[a.state] = (byState[a.state] ?? 0) + 1;
      if (a.acknowledgedAtMs > 0) {
        ackSum += a.acknowledgedAtMs - a.startedAtMs;
        ackN++;
      }
      if (a.resolvedAtMs > 0) {
        resolveSum += a.resolvedAtMs - a.startedAtMs;
        resolveN++;
      }
    }
    return {
      total: alerts.length,
      byRule,
      bySeverity,
      byState,
      meanTimeToAcknowledgeMs: ackN ? Math.round(ackSum / ackN) : null,
      meanTimeToResolveMs: resolveN ? Math.round(resolveSum / resolveN) : null,
    };
  }
}
