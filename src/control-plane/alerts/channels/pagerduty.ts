import { createHash } from 'node:crypto';
import { alertLabels, title } from './alertmanager-body';
import { type ChannelSender, postJson } from './channel-sender';

/** What PagerDuty keeps of a summary (Events API v2: at most 1,024 characters). */
const SUMMARY_MAX = 1_024;

/**
 * One incident per group: the dedup key, stable across notifications and leaders, so a trigger updates
 * the group's incident and the resolve closes it. Hashed: group keys can pass PagerDuty's 255 characters.
 */
export function pagerdutyDedupKey(group: string): string {
  return `nerve-${createHash('sha256').update(group).digest('hex').slice(0, 40)}`;
}

/**
 * PagerDuty Events API v2: `trigger` while any alert of the group fires (the incident's details list the
 * alerts as they stand), `resolve` when none does. Severities map one to one (critical, error, warning,
 * info). The routing key is the channel's secret; PagerDuty answers 202.
 */
export const sendPagerduty: ChannelSender = (channel, n, ctx) => {
  const dedup_key = pagerdutyDedupKey(n.group);
  if (n.status === 'resolved')
    return postJson(
      channel.url,
      { routing_key: channel.routingKey, event_action: 'resolve', dedup_key },
      ctx,
    );
  const firing = n.alerts.filter((a) => a.state !== 'resolved');
  const first = firing[0] ?? n.alerts[0];
  return postJson(
    channel.url,
    {
      routing_key: channel.routingKey,
      event_action: 'trigger',
      dedup_key,
      payload: {
        summary: title(n).slice(0, SUMMARY_MAX),
        source: first?.engine ?? 'nerve',
        severity: first?.severity ?? 'error',
        timestamp: new Date(Math.min(...firing.map((a) => a.startedAtMs), Date.now())).toISOString(),
        ...(first?.engine && { component: first.engine }),
        group: n.rule,
        class: n.rule,
        custom_details: {
          firing: firing.length,
          group: n.labels,
          alerts: n.alerts.slice(0, 50).map((a) => ({
            status: a.state === 'resolved' ? 'resolved' : 'firing',
            labels: alertLabels(a),
            summary: a.summary,
          })),
        },
      },
      client: 'Nerve',
      client_url: `${ctx.externalUrl}/api/v1/nerve/alerts`,
      links: [{ href: `${ctx.externalUrl}/api/v1/nerve/alerts`, text: 'Alerts in Nerve' }],
    },
    ctx,
  );
};
