import { z } from 'zod';
import { formatIssues, name, type Result } from '../validate';
import { SEVERITIES, type Severity } from './rule';

/** DESIGN §2b: a notification channel. Which alerts it takes: by severity, and optionally by engine. */
export const channelSchema = z
  .strictObject({
    name,
    type: z.enum(['webhook', 'slack', 'email']),
    /** webhook, slack: where to POST (http, https); email: the SMTP server (smtp://user:pass@host:port, smtps://). */
    url: z.url({ protocol: /^(https?|smtps?)$/, error: 'must be an http(s) or smtp(s) URL' }),
    /** email: recipients and sender. */
    to: z.array(z.email()).min(1).optional(),
    from: z.email().default('nerve@localhost'),
    /** Empty: every severity. */
    severities: z.array(z.enum(SEVERITIES)).default([]),
    /** Empty: every engine. */
    engines: z.array(name).default([]),
    /** Per attempt. */
    timeoutMs: z.number().int().min(100).max(60_000).default(5_000),
    /** Attempts in all, with doubling backoff from 500 ms. */
    attempts: z.number().int().min(1).max(10).default(4),
  })
  .superRefine((c, ctx) => {
    const smtp = /^smtps?:/.test(c.url);
    if (c.type === 'email' && !smtp)
      ctx.addIssue({
        code: 'custom',
        path: ['url'],
        message: 'an email channel needs an smtp:// or smtps:// URL',
      });
    if (c.type !== 'email' && smtp)
      ctx.addIssue({ code: 'custom', path: ['url'], message: `a ${c.type} channel needs an http(s) URL` });
    if (c.type === 'email' && !c.to)
      ctx.addIssue({ code: 'custom', path: ['to'], message: 'required for type email' });
  });

export type Channel = z.output<typeof channelSchema>;

export function parseChannel(input: unknown, prefix = ''): Result<Channel> {
  const parsed = channelSchema.safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, errors: formatIssues(parsed.error.issues, prefix) };
}

/** Whether a channel takes a notification of this severity about this engine. */
export function routes(channel: Channel, severity: Severity, engine: string | null): boolean {
  if (channel.severities.length > 0 && !channel.severities.includes(severity)) return false;
  if (channel.engines.length > 0 && (engine === null || !channel.engines.includes(engine))) return false;
  return true;
}
