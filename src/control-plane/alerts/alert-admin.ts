import { echo } from '../../model/echo';
import type { ConfigStore } from '../../store/config-store';
import { ACKS_NS, ACTION_APPROVALS_NS } from './alert-state';
import { AlertViews, alertView } from './alert-views';
import { ALERT_RULE_KIND, CHANNEL_KIND, entryKinds, SILENCE_KIND } from '../../model/kinds/config-kinds';
import type { AdminContext, Audit } from '../commands/admin-context';
import { NerveError } from '../../model/errors';
import { EntryAdmin } from '../commands/entry-admin';
import { AlertmanagerConfig } from './alertmanager-config';

/**
 * The alerting commands over the store: rules, channels and silences as configuration kinds, and
 * acknowledgements taken by any replica and applied by the leader at its next evaluation (reads of
 * alerts are views/alert-views.ts).
 */
export class AlertAdmin {
  /** Every kind served as plain entries, by kind. */
  readonly entries: ReadonlyMap<string, EntryAdmin>;

  /** Alerts as the leader last wrote them, acknowledgements applied. */
  readonly views: AlertViews;

  /** Alertmanager configurations in and out. */
  readonly alertmanager: AlertmanagerConfig;

  constructor(
    private readonly store: ConfigStore,
    private readonly audit: Audit,
    private readonly evaluated: () => Promise<void> = async () => undefined,
  ) {
    this.views = new AlertViews(store);
    this.alertmanager = new AlertmanagerConfig(store, audit, evaluated);
    // An entry written is evaluated before the answer (on the leader), so the alerts listed next show
    // what a rule fires, or a silence or an inhibition mutes.
    this.entries = new Map(
      entryKinds().map(([kind, k]) => [kind, new EntryAdmin(store, kind, k.entry.what, audit, evaluated)]),
    );
  }

  /** The entries of a kind, or INVALID_ARGUMENT naming the kinds there are. */
  entriesOf(kind: string): EntryAdmin {
    const e = this.entries.get(kind);
    if (!e)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `kind must be one of ${[...this.entries.keys()].join(', ')}, got ${echo(kind, 40)}`,
      );
    return e;
  }

  get rules(): EntryAdmin {
    return this.entriesOf(ALERT_RULE_KIND);
  }
  get channels(): EntryAdmin {
    return this.entriesOf(CHANNEL_KIND);
  }
  get silences(): EntryAdmin {
    return this.entriesOf(SILENCE_KIND);
  }

  /**
   * Approves an action waiting for one: the leader takes it at its next evaluation (before this answer,
   * on the leader), its guards read again. 404 when the alert has no such action waiting.
   */
  async approveAction(id: string, index: number, ctx: AdminContext) {
    const s = this.views.state();
    const alert = s.alerts.find((a) => a.id === id && a.state !== 'resolved');
    const record = alert && s.actions?.find((r) => r.id === `${alert.id}@${alert.startedAtMs}#${index}`);
    if (!alert || !record)
      throw new NerveError('NOT_FOUND', `no action ${index} of an open alert ${echo(id)}`);
    if (record.state !== 'awaiting-approval')
      throw new NerveError(
        'FAILED_PRECONDITION',
        `action ${index} of alert ${echo(id)} is ${record.state}, not awaiting approval`,
      );
    await ACTION_APPROVALS_NS.put(this.store, [[record.id, { by: ctx.actor, atMs: Date.now() }]]);
    this.audit(ctx, 'approve alert action', { alert: id, action: index, type: record.type });
    await this.evaluated();
    const after = this.views.state();
    const a = after.alerts.find((x) => x.id === id) ?? alert;
    return alertView(a, after);
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
