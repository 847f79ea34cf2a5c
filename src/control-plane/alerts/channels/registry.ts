import type { Channel } from '../../../model/alerts/channel';
import type { ChannelSender } from './channel-sender';
import { sendEmail } from './email';
import { sendSlack } from './slack';
import { sendWebhook } from './webhook';

/** Channel types by name: adding one is a file and a line here. */
export const CHANNEL_SENDERS: ReadonlyMap<Channel['type'], ChannelSender> = new Map([
  ['webhook', sendWebhook],
  ['slack', sendSlack],
  ['email', sendEmail],
]);
