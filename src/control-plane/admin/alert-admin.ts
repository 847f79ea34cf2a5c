import { acknowledge, type Alert } from '../../model/alerts/alert';
import { SEVERITIES } from '../../model/alerts/rule';
import { echo } from '../../model/echo';
import type { ConfigStore } from '../../store/config-store';
import { ACKS_NS, type AlertingState } from '../alerts/alert-state';
import { ALERT_RULE_KIND, CHANNEL_KIND, SILENCE_KIND } from '../../model/config-kinds';
import type { AdminContext, Audit } from './admin-context';
import { NerveError } from '../../model/errors';
import { EntryAdmin } from './entry-admin';

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
    notifications: (state.attempts[a.id] ?? []).map((n) => ({
      channel: n.channel,
      at: n.at,
      ok: n.ok,
      error: n.error ?? null,
    })),
  };
}

/**
 * Newest first. Alerts raised by one evaluation share a start, so the id breaks the tie: the leader
 * rewrites its list each evaluation, and two reads must not disagree on the order.
 */
function newestFirst(a: Alert, b: Alert): number {
  return b.startedAtMs - a.startedAtMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * The alerting API over the store: rules, channels and silences as configuration kinds; alerts as the
 * leader last wrote them (every replica answers the same); acknowledgements taken by any replica and
 * applied by the leader at its next evaluation; statistics.
 */
export class AlertAdmin {
  readonly rules: EntryAdmin;
  readonly channels: EntryAdmin;
  readonly silences: EntryAdmin;

  constructor(
    private readonly store: ConfigStore,
    private readonly state: () => AlertingState,
    private readonly audit: Audit,
    evaluated: () => Promise<void> = async () => undefined,
  ) {
    // A rule or silence written is evaluated before the answer (on the leader), so the alerts listed
    // next show what it fires or silences.
    this.rules = new EntryAdmin(store, ALERT_RULE_KIND, 'alert rule', audit, evaluated);
    this.channels = new EntryAdmin(store, CHANNEL_KIND, 'notification channel', audit);
    this.silences = new EntryAdmin(store, SILENCE_KIND, 'silence', audit, evaluated);
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

  /** Acknowledges a firing alert: its repeats stop; its resolved notification still goes out. */
  async acknowledge(id: string, ctx: AdminContext) {
    const s = this.state();
    const alert = s.alerts.find((a) => a.id === id && a.state !== 'resolved');
    if (!alert) throw new NerveError('NOT_FOUND', `no open alert ${echo(id)}`);
    if (alert.state !== 'firing')
      throw new NerveError('FAILED_PRECONDITION', `alert ${echo(id)} is ${alert.state}, not firing`);
    const atMs = Date.now();
    await ACKS_NS.put(this.store, [[id, { by: ctx.actor, atMs }]]);
    this.audit(ctx, 'acknowledge alert', { alert: id });
    return {
      ...alertView(alert, s),
      state: 'acknowledged' as const,
      acknowledgedAt: new Date(atMs).toISOString(),
      acknowledgedBy: ctx.actor,
    };
  }

  /**
   * Alerts as the leader last wrote them, with the acknowledgements any replica took since applied:
   * the answer to an acknowledgement, and every read after it, show it acknowledged at once (the
   * leader applies the same record at its next evaluation).
   */
  private withAcks(alerts: readonly Alert[]): Alert[] {
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
