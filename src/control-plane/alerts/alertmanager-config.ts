import { stringify } from 'yaml';
import type { Channel } from '../../model/alerts/channel';
import type { InhibitRule } from '../../model/alerts/inhibition';
import { toAlertmanager } from '../../model/alerts/alertmanager/export';
import { fromAlertmanager } from '../../model/alerts/alertmanager/import';
import { ROOT_ROUTE, type RouteTree } from '../../model/alerts/route';
import type { AlertRule } from '../../model/alerts/rule';
import type { TimeInterval } from '../../model/alerts/time-interval';
import { canonicalJson, entryKey, type JsonValue } from '../../model/config';
import { NerveError } from '../../model/errors';
import {
  ALERT_ROUTE_KIND,
  ALERT_RULE_KIND,
  CHANNEL_KIND,
  CONFIG_KINDS,
  INHIBIT_RULE_KIND,
  TIME_INTERVAL_KIND,
} from '../../model/kinds/config-kinds';
import type { ConfigStore } from '../../store/config-store';
import { type AdminContext, actorLabel, type Audit } from '../commands/admin-context';

export interface AlertmanagerImportResult {
  readonly dryRun: boolean;
  /** The version the import created (the current one on a dry run or when nothing changed). */
  readonly version: number;
  readonly changes: readonly { kind: string; name: string; change: 'added' | 'changed' | 'unchanged' }[];
  /** What was left out or renamed on the way, in words. */
  readonly notes: readonly string[];
}

/**
 * An Alertmanager configuration into Nerve's (`nerve alerts import-alertmanager`, `POST
 * /alerting/alertmanager-config`) and Nerve's out as one (`GET /alerting/config?format=alertmanager`).
 * An import writes its channels, routing tree, inhibit rules and time intervals as one version (the
 * tree replaced, the others added or replaced by name; nothing else removed), every document validated
 * first; `dryRun` only reports.
 */
export class AlertmanagerConfig {
  constructor(
    private readonly store: ConfigStore,
    private readonly audit: Audit,
    private readonly settled: () => Promise<void> = async () => undefined,
  ) {}

  async import(text: string, dryRun: boolean, ctx: AdminContext): Promise<AlertmanagerImportResult> {
    const read = fromAlertmanager(text);
    if (!read.ok)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `not an Alertmanager configuration Nerve can read: ${read.errors.join('; ')}`,
        read.errors,
      );
    const sections: [string, string, readonly unknown[]][] = [
      [TIME_INTERVAL_KIND, 'time_intervals', read.value.timeIntervals],
      [CHANNEL_KIND, 'receivers', read.value.channels],
      [ALERT_ROUTE_KIND, 'route', [read.value.route]],
      [INHIBIT_RULE_KIND, 'inhibit_rules', read.value.inhibitRules],
    ];
    const errors: string[] = [];
    const docs: { kind: string; name: string; value: JsonValue }[] = [];
    for (const [kind, section, list] of sections)
      list.forEach((doc, i) => {
        const kindSpec = CONFIG_KINDS.get(kind)!;
        const v = kindSpec.validate(
          doc,
          `${section}${list.length > 1 || section !== 'route' ? `[${i}]` : ''}`,
        );
        if (!v.ok) return errors.push(...v.errors);
        docs.push({ kind, name: kindSpec.nameOf(v.value), value: v.value });
      });
    if (errors.length > 0)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `the configuration does not fit Nerve's: ${errors.join('; ')}`,
        errors,
      );
    const changes = docs.map((d) => {
      const current = this.store.get(d.kind, d.name);
      const change: 'added' | 'changed' | 'unchanged' = !current
        ? 'added'
        : canonicalJson(current.value) === canonicalJson(d.value)
          ? 'unchanged'
          : 'changed';
      return { kind: d.kind, name: d.name, change };
    });
    const ops = docs
      .filter((_, i) => changes[i].change !== 'unchanged')
      .map((d) => ({ op: 'put' as const, kind: d.kind, name: d.name, value: d.value }));
    if (dryRun || ops.length === 0)
      return { dryRun, version: this.store.version(), changes, notes: read.value.notes };
    const summary = `import Alertmanager configuration: ${ops.length} of ${docs.length} entries`;
    const record = await this.store.commit({
      actor: actorLabel(ctx),
      summary,
      ops,
      expect: new Map(
        ops.map((o) => [entryKey(o.kind, o.name), this.store.get(o.kind, o.name)?.revision ?? 0]),
      ),
    });
    this.audit(ctx, 'import alertmanager config', {
      version: record.version,
      entries: ops
        .map((o) => `${o.kind}/${o.name}`)
        .join(', ')
        .slice(0, 2_000),
    });
    await this.settled();
    return { dryRun, version: record.version, changes, notes: read.value.notes };
  }

  /** Nerve's alerting configuration as Alertmanager's YAML, and what it left out. */
  export(): { yaml: string; notes: string[] } {
    const list = <T>(kind: string) => this.store.list(kind).map((e) => e.value as unknown as T);
    const { config, notes } = toAlertmanager({
      channels: list<Channel>(CHANNEL_KIND),
      tree: list<RouteTree>(ALERT_ROUTE_KIND).find((t) => t.name === ROOT_ROUTE),
      rules: list<AlertRule>(ALERT_RULE_KIND).filter((r) => r.enabled),
      inhibitRules: list<InhibitRule>(INHIBIT_RULE_KIND),
      timeIntervals: list<TimeInterval>(TIME_INTERVAL_KIND),
    });
    const header = notes.map((n) => `# ${n}`).join('\n');
    return { yaml: `${header ? `${header}\n` : ''}${stringify(config)}`, notes };
  }
}
