import { echo } from '../../model/echo';
import type { ConfigStore } from '../../store/config-store';
import { ACKS_NS } from '../alerts/alert-state';
import { type AlertViews, alertView } from '../views/alert-views';
import { ALERT_RULE_KIND, CHANNEL_KIND, SILENCE_KIND } from '../../model/config-kinds';
import type { AdminContext, Audit } from './admin-context';
import { NerveError } from '../../model/errors';
import { EntryAdmin } from './entry-admin';

/**
 * The alerting commands over the store: rules, channels and silences as configuration kinds, and
 * acknowledgements taken by any replica and applied by the leader at its next evaluation (reads of
 * alerts are views/alert-views.ts).
 */
export class AlertAdmin {
  readonly rules: EntryAdmin;
  readonly channels: EntryAdmin;
  readonly silences: EntryAdmin;

  constructor(
    private readonly store: ConfigStore,
    private readonly views: AlertViews,
    private readonly audit: Audit,
    evaluated: () => Promise<void> = async () => undefined,
  ) {
    // A rule or silence written is evaluated before the answer (on the leader), so the alerts listed
    // next show what it fires or silences.
    this.rules = new EntryAdmin(store, ALERT_RULE_KIND, 'alert rule', audit, evaluated);
    this.channels = new EntryAdmin(store, CHANNEL_KIND, 'notification channel', audit);
    this.silences = new EntryAdmin(store, SILENCE_KIND, 'silence', audit, evaluated);
  }

  /** Acknowledges a firing alert: its repeats stop; its resolved notification still goes out. */
  async acknowledge(id: string, ctx: AdminContext) {
    const s = this.views.state();
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
}
