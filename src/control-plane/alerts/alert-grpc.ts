import type { Unary } from '../commands/unary';
import type { AdminServer, Alert as ProtoAlert } from '../../../gen/nerve/admin/v1/admin';
import { CONFIG_KINDS } from '../../model/kinds/config-kinds';
import { type AdminContext, requireRole } from '../commands/admin-context';
import { NerveError } from '../../model/errors';
import type { alertView } from './alert-views';
import type { AlertAdmin } from './alert-admin';
import type { EntryAdmin, EntryView } from '../commands/entry-admin';

type AlertHandlers = Pick<
  AdminServer,
  'listAlerts' | 'acknowledgeAlert' | 'getAlertStats' | 'listEntries' | 'putEntry' | 'deleteEntry'
>;

export function toProtoAlert(a: ReturnType<typeof alertView>): ProtoAlert {
  return {
    id: a.id,
    rule: a.rule,
    severity: a.severity,
    state: a.state,
    engine: a.engine ?? '',
    instance: a.instance ?? '',
    value: a.value,
    summary: a.summary,
    startedAt: a.startedAt ?? '',
    resolvedAt: a.resolvedAt ?? '',
    acknowledgedAt: a.acknowledgedAt ?? '',
    acknowledgedBy: a.acknowledgedBy ?? '',
    notifications: a.notifications.map((n) => ({
      channel: n.channel,
      at: n.at,
      ok: n.ok,
      error: n.error ?? '',
    })),
    inhibitedBy: a.inhibitedBy.slice(),
    actions: a.actions.map((x) => ({
      index: x.index,
      type: x.type,
      state: x.state,
      reason: x.reason,
      requestedAt: x.requestedAt ?? '',
      doneAt: x.doneAt ?? '',
      approvedBy: x.approvedBy ?? '',
      configVersion: x.configVersion ?? 0,
    })),
  };
}

function entry(name: string, e: EntryView) {
  return { name, json: JSON.stringify(e.value), revision: e.revision };
}

/** Alerts and the kinds served as entries on admin gRPC: the same AlertAdmin as REST. */
export function alertHandlers(alerts: AlertAdmin, unary: Unary): AlertHandlers {
  const of = (kind: string): EntryAdmin => alerts.entriesOf(kind);
  const nameOf = (kind: string, value: unknown) =>
    String((value as Record<string, unknown>)[CONFIG_KINDS.get(kind)?.entry?.nameField ?? 'name']);
  return {
    listAlerts: unary(async (r) => ({
      alerts: alerts.views
        .list({
          state: r.state || undefined,
          severity: r.severity || undefined,
          engine: r.engine || undefined,
        })
        .map(toProtoAlert),
    })),
    acknowledgeAlert: unary(async (r, ctx) => ({
      alert: toProtoAlert(await alerts.acknowledge(r.id, ctx)),
    })),
    getAlertStats: unary(async () => {
      const s = alerts.views.stats();
      return {
        total: s.total,
        byRule: s.byRule,
        bySeverity: s.bySeverity,
        byState: s.byState,
        meanTimeToAcknowledgeMs: s.meanTimeToAcknowledgeMs ?? undefined,
        meanTimeToResolveMs: s.meanTimeToResolveMs ?? undefined,
      };
    }),
    listEntries: unary(async (r) => ({
      entries: of(r.kind)
        .list()
        .map((e) => entry(nameOf(r.kind, e.value), e)),
    })),
    putEntry: unary(async (r, ctx) => {
      entryRole(r.kind, ctx);
      let doc: unknown;
      try {
        doc = JSON.parse(r.json);
      } catch (err) {
        throw new NerveError('INVALID_ARGUMENT', `json is not JSON: ${(err as Error).message}`);
      }
      const stored = await of(r.kind).replace(r.name, doc, r.ifMatch || undefined, ctx);
      return { entry: entry(r.name, stored) };
    }),
    deleteEntry: unary(async (r, ctx) => {
      entryRole(r.kind, ctx);
      await of(r.kind).delete(r.name, r.ifMatch || undefined, ctx);
      return {};
    }),
  };
}

/** As REST: each kind's writer (silences are operators' work; rules and channels are admins'). */
function entryRole(kind: string, ctx: AdminContext): void {
  requireRole(ctx, CONFIG_KINDS.get(kind)?.entry?.writer ?? 'admin', `changing ${kind}`);
}
