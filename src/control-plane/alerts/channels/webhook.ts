import { alertmanagerBody } from './alertmanager-body';
import { type ChannelSender, postJson } from './channel-sender';

/** A webhook receives Alertmanager's webhook body (version "4"). */
export const sendWebhook: ChannelSender = (channel, n, ctx) =>
  postJson(channel.url, alertmanagerBody(n, channel.name, ctx.externalUrl), ctx);
