import { alertLabels, title } from './alertmanager-body';
import { type ChannelSender, postJson } from './channel-sender';

/** Alerts a card lists; the rest are counted. */
const LISTED = 20;

/**
 * Microsoft Teams: a message with one Adaptive Card (schema 1.4), as Teams incoming webhooks and
 * Workflows take it. The title, then a fact per alert (where, and what), then a link to Nerve's alerts.
 */
export const sendMsteams: ChannelSender = (channel, n, ctx) => {
  const facts = n.alerts.slice(0, LISTED).map((a) => {
    const labels = alertLabels(a);
    const where = [labels.engine, labels.instance].filter(Boolean).join('/') || 'fleet';
    return {
      title: `${a.state === 'resolved' ? 'RESOLVED' : a.severity.toUpperCase()} ${where}`,
      value: a.summary,
    };
  });
  if (n.alerts.length > LISTED) facts.push({ title: '…', value: `and ${n.alerts.length - LISTED} more` });
  return postJson(
    channel.url,
    {
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            msteams: { width: 'Full' },
            body: [
              {
                type: 'TextBlock',
                text: title(n),
                weight: 'Bolder',
                size: 'Medium',
                wrap: true,
                color: n.status === 'resolved' ? 'Good' : 'Attention',
              },
              { type: 'FactSet', facts },
              { type: 'TextBlock', text: `group ${n.group}`, isSubtle: true, size: 'Small', wrap: true },
            ],
            actions: [
              {
                type: 'Action.OpenUrl',
                title: 'Alerts in Nerve',
                url: `${ctx.externalUrl}/api/v1/nerve/alerts`,
              },
            ],
          },
        },
      ],
    },
    ctx,
  );
};
