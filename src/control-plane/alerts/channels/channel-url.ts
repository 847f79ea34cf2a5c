import { readFile } from 'node:fs/promises';
import { type Channel, PAGERDUTY_EVENTS_URL } from '../../../model/alerts/channel';

/** A channel with its secrets in hand: stored, or read now where `urlFrom` / `routingKeyFrom` name them. */
export type ResolvedChannel = Channel & { readonly url: string };

type SecretFrom = NonNullable<Channel['urlFrom']>;

/**
 * A secret read at delivery from the environment variable or file it names (a Kubernetes Secret
 * mounted as a file is re-read at each delivery, so a rotation needs no restart). A missing variable
 * or an unreadable file fails the attempt with its reason, never the secret.
 */
async function readSecret(from: SecretFrom, field: string): Promise<string | undefined> {
  if ('env' in from) {
    const value = process.env[from.env]?.trim();
    if (!value)
      throw new Error(`${field}: environment variable ${from.env} is not set on this control plane`);
    return value;
  }
  return (
    await readFile(from.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      throw new Error(`${field}: cannot read ${from.file} (${err.code ?? err.message})`);
    })
  ).trim();
}

/**
 * The channel at delivery: its URL stored, read from where `urlFrom` names, or (pagerduty) the Events
 * API's; its routing key likewise. A URL of the wrong kind fails the attempt with its reason.
 */
export async function resolveChannel(channel: Channel): Promise<ResolvedChannel> {
  const url =
    channel.url ??
    (channel.urlFrom ? await readSecret(channel.urlFrom, 'urlFrom') : undefined) ??
    (channel.type === 'pagerduty' ? PAGERDUTY_EVENTS_URL : undefined);
  if (!url) throw new Error('the channel has no URL');
  const smtp = /^smtps?:\/\//.test(url);
  if (!/^(https?|smtps?):\/\//.test(url) || smtp !== (channel.type === 'email'))
    throw new Error(
      `urlFrom: the value is not ${channel.type === 'email' ? 'an smtp(s)' : 'an http(s)'} URL`,
    );
  const routingKey =
    channel.routingKey ??
    (channel.routingKeyFrom ? await readSecret(channel.routingKeyFrom, 'routingKeyFrom') : undefined);
  if (channel.type === 'pagerduty' && !routingKey) throw new Error('the channel has no routing key');
  return { ...channel, url, ...(routingKey !== undefined && { routingKey }) };
}
