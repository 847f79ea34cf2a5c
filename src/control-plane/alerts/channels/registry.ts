import type { ChannelType } from '../../../model/alerts/channel';
import type { ChannelSender } from './channel-sender';
import { sendAlertmanager } from './alertmanager';
import { sendEmail } from './email';
import { sendMsteams } from './msteams';
import { sendPagerduty } from './pagerduty';
import { sendSlack } from './slack';
import { sendWebhook } from './webhook';

/** Channel types by name: adding one is a file and a line here. */
export const CHANNEL_SENDERS: ReadonlyMap<ChannelType, ChannelSender> = new Map([
  ['webhook', sendWebhook],
  ['slack', sendSlack],
  ['email', sendEmail],
  ['pagerduty', sendPagerduty],
  ['msteams', sendMsteams],
  ['alertmanager', sendAlertmanager],
]);
