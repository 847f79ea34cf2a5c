import { z } from 'zod';
import { formatIssues, name, type Result } from '../validate';
import { GROUP_LABELS } from './rule';
import type { Silence } from './silence';

export const silenceSchema = z.strictObject({
  id: name,
  matchers: z
    .array(z.strictObject({ label: z.enum(GROUP_LABELS), value: z.string().min(1).max(253) }))
    .min(1),
  /** RFC 3339 or Unix ms. */
  endsAt: z.union([z.iso.datetime({ offset: true }), z.number().int().min(0)]),
  createdBy: z.string().max(200).default(''),
  comment: z.string().max(1_000).default(''),
});

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
