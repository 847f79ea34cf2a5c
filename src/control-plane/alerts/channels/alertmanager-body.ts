import type { Alert } from '../../../model/alerts/alert';
import type { Notification } from '../../../model/alerts/grouping';

/** Alertmanager's "zero time": endsAt of an alert still firing. */
const ZERO_TIME = '0001-01-01T00:00:00Z';

/** An alert's labels as receivers read them: Alertmanager's `alertname` for the rule, and the rule's own labels. */
export function alertLabels(a: Alert): Record<string, string> {
  return {
    ...a.labels,
    alertname: a.rule,
    severity: a.severity,
    ...(a.engine !== null && { engine: a.engine }),
    ...(a.instance !== null && { instance: a.instance }),
  };
}

/**
 * A notification as Alertmanager's webhook body (version "4"), so receivers written for Alertmanager
 * work unchanged: group and common labels, one entry per alert with its own status, fingerprint and
 * times.
 */
export function alertmanagerBody(n: Notification, receiver: string, externalUrl: string) {
  const alerts = n.alerts.map((a) => ({
    status: a.state === 'resolved' ? 'resolved' : 'firing',
    labels: alertLabels(a),
    annotations: {
      summary: a.summary,
      ...(a.acknowledgedBy && { acknowledgedBy: a.acknowledgedBy }),
    },
    startsAt: new Date(a.startedAtMs).toISOString(),
    endsAt: a.state === 'resolved' ? new Date(a.resolvedAtMs).toISOString() : ZERO_TIME,
    generatorURL: `${externalUrl}/api/v1/nerve/alerts?engine=${encodeURIComponent(a.engine ?? '')}`,
    fingerprint: a.id,
  }));
  const common = (pick: (a: (typeof alerts)[number]) => Record<string, string>) => {
    const [first, ...rest] = alerts.map(pick);
    if (!first) return {};
    return Object.fromEntries(Object.entries(first).filter(([k, v]) => rest.every((o) => o[k] === v)));
  };
  return {
    version: '4',
    groupKey: n.group,
    truncatedAlerts: 0,
    status: n.status,
    receiver,
    groupLabels: n.labels,
    commonLabels: common((a) => a.labels),
    commonAnnotations: common((a) => a.annotations as Record<string, string>),
    externalURL: externalUrl,
    alerts,
  };
}

/** One line a person reads: "[FIRING:3] instance_down engine=calc". */
export function title(n: Notification): string {
  const firing = n.alerts.filter((a) => a.state !== 'resolved').length;
  const labels = Object.entries(n.labels)
    .filter(([k]) => k !== 'rule')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `[${n.status === 'firing' ? `FIRING:${firing}` : 'RESOLVED'}] ${n.rule}${labels ? ` ${labels}` : ''}`;
}
