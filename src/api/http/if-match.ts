import type { Request } from 'express';
import { NerveError } from '../../model/errors';
import { echo } from '../../model/echo';

/**
 * The revision in `If-Match: "<revision>"` (quotes optional, as curl users type it); undefined when the
 * header is absent. `*` means any revision (no check). A weak or malformed tag is a 400.
 */
export function ifMatch(req: Request): number | undefined {
  const raw = req.get('if-match');
  if (raw === undefined || raw.trim() === '*') return undefined;
  const m = /^\s*"?(\d{1,15})"?\s*$/.exec(raw);
  if (!m)
    throw new NerveError(
      'INVALID_ARGUMENT',
      `If-Match must be a revision like "12" (from the ETag of a read), got ${echo(raw, 40)}`,
    );
  return Number(m[1]);
}

/** The ETag of something at a revision: what If-Match takes back. */
export const etag = (revision: number): string => `"${revision}"`;
