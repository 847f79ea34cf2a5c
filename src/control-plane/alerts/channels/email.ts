import { createTransport } from 'nodemailer';
import { alertLabels, title } from './alertmanager-body';
import type { ChannelSender } from './channel-sender';

/** Email over SMTP (nodemailer): the channel's url is the server, `to` the recipients. */
export const sendEmail: ChannelSender = async (channel, n, ctx) => {
  const url = new URL(channel.url);
  const transport = createTransport({
    host: url.hostname,
    port: Number(url.port) || (url.protocol === 'smtps:' ? 465 : 25),
    secure: url.protocol === 'smtps:',
    ...(url.username && {
      auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) },
    }),
    connectionTimeout: channel.timeoutMs,
    greetingTimeout: channel.timeoutMs,
    socketTimeout: channel.timeoutMs,
  });
  const lines = n.alerts.map(
    (a) =>
      `${a.state === 'resolved' ? 'RESOLVED' : a.state.toUpperCase()}  ${Object.entries(alertLabels(a))
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}\n    ${a.summary}`,
  );
  const abort = () => transport.close();
  ctx.signal.addEventListener('abort', abort, { once: true });
  try {
    await transport.sendMail({
      from: channel.from,
      to: channel.to,
      subject: title(n),
      text: `${lines.join('\n\n')}\n\n${ctx.externalUrl}\n`,
      headers: { 'X-Nerve-Notification-Id': ctx.notificationId },
    });
  } finally {
    ctx.signal.removeEventListener('abort', abort);
    transport.close();
  }
};
