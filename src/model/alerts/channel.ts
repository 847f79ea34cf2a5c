import { z } from 'zod';
import { formatIssues, name, type Result } from '../validate';
import { SEVERITIES, type Severity } from './rule';

/**
 * An email address as SMTP takes it: a local part and a host, which may be a bare name (`localhost`,
 * an intranet relay). Stricter checks refused the default sender, so a stored channel could not be
 * written back or restored.
 */
const address = z
  .string()
  .max(254)
  .regex(
    /^[^\s@<>()[\],;:"]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/,
    'must be an email address (name@host)',
  );

/** Channel types: each is a sender in `control-plane/alerts/channels/`, registered by this name. */
export const CHANNEL_TYPES = ['webhook', 'slack', 'email', 'pagerduty', 'msteams', 'alertmanager'] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

/** PagerDuty's Events API v2 endpoint: a pagerduty channel's URL unless it names another. */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** A secret read at delivery from an environment variable or a file (a mounted Secret), never stored. */
const secretFrom = z.union([
  z.strictObject({
    env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'an environment variable name'),
  }),
  z.strictObject({ file: z.string().regex(/^\/[^\0]{1,1023}$/, 'an absolute path') }),
]);

/** A notification channel. Which alerts it takes: by severity, and optionally by engine. */
export const channelSchema = z
  .strictObject({
    name,
    type: z.enum(CHANNEL_TYPES),
    /**
     * webhook, slack, msteams: where to POST (http, https); alertmanager: its base URL (alerts go to
     * `/api/v2/alerts` under it); pagerduty: the Events API v2 endpoint (PagerDuty's own by default);
     * email: the SMTP server (smtp://user:pass@host:port, smtps://). A secret: readers see it as
     * `redactUrl` shows it. Absent when `urlFrom` names it.
     */
    url: z.url({ protocol: /^(https?|smtps?)$/, error: 'must be an http(s) or smtp(s) URL' }).optional(),
    /** The URL read at delivery from an environment variable or a file (a mounted Secret), never stored. */
    urlFrom: secretFrom.optional(),
    /** pagerduty: the integration's routing key (a secret: readers see `***`), or where to read it. */
    routingKey: z.string().min(1).max(128).optional(),
    routingKeyFrom: secretFrom.optional(),
    /** email: recipients and sender. */
    to: z.array(address).min(1).optional(),
    from: address.default('nerve@localhost'),
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
    if (c.url !== undefined && c.urlFrom !== undefined)
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'give url or urlFrom (one of them)' });
    if (c.url === undefined && c.urlFrom === undefined && c.type !== 'pagerduty')
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'give url or urlFrom (one of them)' });
    for (const field of ['url', 'routingKey'] as const)
      if (c[field]?.includes(REDACTED))
        ctx.addIssue({
          code: 'custom',
          path: [field],
          message: `holds ${REDACTED}: give the whole ${field === 'url' ? 'URL' : 'key'}, or send back exactly what a read showed to keep the stored one`,
        });
    if (c.type === 'pagerduty' && (c.routingKey === undefined) === (c.routingKeyFrom === undefined))
      ctx.addIssue({
        code: 'custom',
        path: ['routingKey'],
        message: 'a pagerduty channel needs routingKey or routingKeyFrom (one of them)',
      });
    if (c.type !== 'pagerduty' && (c.routingKey !== undefined || c.routingKeyFrom !== undefined))
      ctx.addIssue({ code: 'custom', path: ['routingKey'], message: 'only for type pagerduty' });
    if (c.url === undefined) return; // checked when read, at delivery
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

/** What a reader sees in place of a secret. */
export const REDACTED = '***';

/**
 * A channel URL as every reader sees it: scheme, user and host, with the password and the whole path
 * and query (where Slack, Teams and most webhook receivers carry their token) replaced by `***`.
 */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return REDACTED;
  }
  const user = u.username ? `${u.username}${u.password ? `:${REDACTED}` : ''}@` : '';
  const rest = (u.pathname !== '/' && u.pathname !== '') || u.search !== '' ? `/${REDACTED}` : '';
  return `${u.protocol}//${user}${u.host}${rest}`;
}

/** A channel's secret fields and how a reader sees each. */
const SECRETS: readonly (readonly ['url' | 'routingKey', (value: string) => string])[] = [
  ['url', redactUrl],
  ['routingKey', () => REDACTED],
];

/** A stored channel document as readers get it (configuration exports, for admins, keep it whole). */
export function redactChannel<T>(doc: T): T {
  const c = doc as Record<string, unknown>;
  let out: Record<string, unknown> | undefined;
  for (const [field, redact] of SECRETS) {
    const v = c[field];
    if (typeof v === 'string') (out ??= { ...c })[field] = redact(v);
  }
  return (out ?? doc) as T;
}

/**
 * A channel written back as a read showed it: a secret field equal to the stored one's redaction means
 * "keep the stored value" (so GET then PUT changes nothing); anything else is taken as given.
 */
export function keepChannelSecrets(input: unknown, stored: unknown): unknown {
  const c = input as Record<string, unknown> | null;
  const s = stored as Record<string, unknown> | undefined;
  if (!c || typeof c !== 'object' || !s) return input;
  let out: Record<string, unknown> | undefined;
  for (const [field, redact] of SECRETS) {
    const given = c[field];
    const kept = s[field];
    if (typeof given === 'string' && typeof kept === 'string' && given === redact(kept))
      (out ??= { ...c })[field] = kept;
  }
  return out ?? input;
}

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
