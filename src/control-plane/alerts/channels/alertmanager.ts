import { alertLabels } from './alertmanager-body';
import { type ChannelSender, postJson } from './channel-sender';

/**
 * Alerts still firing are sent to an Alertmanager again this often, as Prometheus does (its
 * `--rules.alert.resend-delay`): Alertmanager resolves an alert it has not heard of by its `endsAt`.
 */
export const ALERTMANAGER_RESEND_MS = 60_000;
/** A firing alert's `endsAt`: four resends ahead, so one lost resend resolves nothing, and an alert of a control plane gone resolves within minutes. */
const VALID_MS = 4 * ALERTMANAGER_RESEND_MS;

/**
 * An Alertmanager of the team's own: `POST {url}/api/v2/alerts` with each alert's labels (alertname
 * and rule, severity, engine, instance), its summary, and when it started and ends (firing: four
 * resends ahead; resolved: when it resolved). Alertmanager groups, routes and deduplicates them by
 * their labels, so a resend or a second replica's attempt changes nothing there.
 */
export const sendAlertmanager: ChannelSender = (channel, n, ctx) => {
  const now = Date.now();
  const generatorURL = `${ctx.externalUrl}/api/v1/nerve/alerts`;
  return postJson(
    `${channel.url.replace(/\/+$/, '')}/api/v2/alerts`,
    n.alerts.map((a) => ({
      labels: { ...alertLabels(a), rule: a.rule },
      annotations: { summary: a.summary },
      startsAt: new Date(a.startedAtMs).toISOString(),
      endsAt: new Date(a.state === 'resolved' ? a.resolvedAtMs : now + VALID_MS).toISOString(),
      generatorURL,
    })),
    ctx,
  );
};
