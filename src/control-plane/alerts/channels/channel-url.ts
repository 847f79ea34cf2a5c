import { readFile } from 'node:fs/promises';
import type { Channel } from '../../../model/alerts/channel';

/** A channel with its URL in hand: the stored one, or the one `urlFrom` names, read now. */
export type ResolvedChannel = Channel & { readonly url: string };

/**
 * The channel's URL at delivery: stored, or read from the environment variable or file `urlFrom`
 * names (a Kubernetes Secret mounted as a file is re-read at each delivery, so a rotation needs no
 * restart). A missing variable, an unreadable file or a URL of the wrong kind fails the attempt with
 * its reason, never the secret.
 */
export async function resolveChannel(channel: Channel): Promise<ResolvedChannel> {
  if (channel.url !== undefined) return { ...channel, url: channel.url };
  const from = channel.urlFrom;
  let url: string | undefined;
  if (from && 'env' in from) {
    url = process.env[from.env]?.trim();
    if (!url) throw new Error(`urlFrom: environment variable ${from.env} is not set on this control plane`);
  } else if (from && 'file' in from) {
    url = (
      await readFile(from.file, 'utf8').catch((err: NodeJS.ErrnoException) => {
        throw new Error(`urlFrom: cannot read ${from.file} (${err.code ?? err.message})`);
      })
    ).trim();
  }
  if (!url) throw new Error('the channel has no URL');
  const smtp = /^smtps?:\/\//.test(url);
  if (!/^(https?|smtps?):\/\//.test(url) || smtp !== (channel.type === 'email'))
    throw new Error(
      `urlFrom: the value is not ${channel.type === 'email' ? 'an smtp(s)' : 'an http(s)'} URL`,
    );
  return { ...channel, url };
}
