import { title } from './alertmanager-body';
import { type ChannelSender, postJson } from './channel-sender';

/** Slack-compatible incoming webhooks: `text` for notifications and clients without blocks, and blocks. */
export const sendSlack: ChannelSender = (channel, n, ctx) => {
  const lines = n.alerts.slice(0, 20).map((a) => {
    const where = [a.engine, a.instance].filter(Boolean).join('/');
    return `• ${a.state === 'resolved' ? '✅' : a.severity === 'critical' ? '🔴' : '🟠'} ${where ? `*${where}* ` : ''}${a.summary}`;
  });
  if (n.alerts.length > 20) lines.push(`… and ${n.alerts.length - 20} more`);
  const text = title(n);
  return postJson(
    channel.url,
    {
      text,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: `*${text}*` } },
        { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
        {
          type: 'context',
          elements: [{ type: 'mrkdwn', text: `<${ctx.externalUrl}|Nerve> · group ${n.group}` }],
        },
      ],
    },
    ctx,
  );
};
