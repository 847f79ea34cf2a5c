import { z } from 'zod';
import { durationMs } from '../duration';
import { formatIssues, name, type Result } from '../validate';
import { GROUP_LABELS } from './rule';
import type { Silence } from './silence';

export const silenceSchema = z
  .strictObject({
    id: name,
    matchers: z
      .array(z.strictObject({ label: z.enum(GROUP_LABELS), value: z.string().min(1).max(253) }))
      .min(1),
    /** RFC 3339 or Unix ms; required (optional here so that a bad `duration` is named instead). */
    endsAt: z
      .union([z.iso.datetime({ offset: true }), z.number().int().min(0)])
      .optional()
      .describe('RFC 3339 or Unix ms; required unless duration is given'),
    createdBy: z.string().max(200).default(''),
    comment: z.string().max(1_000).default(''),
    /** Only on the way in, instead of endsAt: {@link withEndFromDuration} turns a good one into endsAt. */
    duration: z
      .string()
      .optional()
      .describe('instead of endsAt: how long from now, such as 30m, 2h or 1d (as amtool --duration)'),
  })
  .superRefine((s, ctx) => {
    if (s.duration !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['duration'],
        message: 'must be one duration such as 30m, 2h or 1d, given instead of endsAt',
      });
    else if (s.endsAt === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['endsAt'],
        message: 'required: an RFC 3339 time or Unix milliseconds (or a duration instead, such as 2h)',
      });
  })
  .transform(({ duration: _unused, ...doc }) => doc as typeof doc & { endsAt: string | number });

/**
 * A silence posted with `duration` ("2h", as amtool's --duration) instead of `endsAt` ends that long
 * after it was made; it is stored with the `endsAt` it works out to.
 */
export function withEndFromDuration(input: unknown, nowMs: number): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const { duration, ...doc } = input as { duration?: unknown; endsAt?: unknown };
  if (duration === undefined || doc.endsAt !== undefined) return input;
  const ms = typeof duration === 'string' ? durationMs(duration) : undefined;
  return ms === undefined || ms === 0 ? input : { ...doc, endsAt: new Date(nowMs + ms).toISOString() };
}

export type SilenceDocument = z.output<typeof silenceSchema>;

export function parseSilence(input: unknown, prefix = ''): Result<SilenceDocument> {
  const parsed = silenceSchema.safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, errors: formatIssues(parsed.error.issues, prefix) };
}

export function toSilence(doc: SilenceDocument): Silence {
  return {
    id: doc.id,
    matchers: doc.matchers,
    endsAtMs: typeof doc.endsAt === 'number' ? doc.endsAt : Date.parse(doc.endsAt),
    createdBy: doc.createdBy,
    comment: doc.comment,
  };
}
