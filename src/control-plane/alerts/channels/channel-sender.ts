import type { Notification } from '../../../model/alerts/grouping';
import type { ResolvedChannel } from './channel-url';

/** What a channel type does with a notification; throws (or rejects) when the receiver did not take it. */
export type ChannelSender = (channel: ResolvedChannel, n: Notification, ctx: SendContext) => Promise<void>;

export interface SendContext {
  readonly externalUrl: string;
  /** Aborts the attempt at the channel's timeout. */
  readonly signal: AbortSignal;
  /** Repeated in every attempt of one notification, so a receiver can drop a duplicate. */
  readonly notificationId: string;
}

/** POSTs JSON; a status outside 2xx is a failure naming it. */
export async function postJson(url: string, body: unknown, ctx: SendContext): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-nerve-notification-id': ctx.notificationId },
    body: JSON.stringify(body),
    signal: ctx.signal,
  });
  if (res.status < 200 || res.status > 299) {
    const text = (await res.text().catch(() => '')).slice(0, 200);
    throw new Error(`HTTP ${res.status}${text ? `: ${text}` : ''}`);
  }
  await res.arrayBuffer().catch(() => undefined);
}
