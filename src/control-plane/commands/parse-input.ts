import type { z } from 'zod';
import { formatIssues } from '../../model/validate';
import { NerveError } from '../../model/errors';

/**
 * An operation's input checked against its schema, whatever transport it came from (REST body, gRPC
 * message): the value, or INVALID_ARGUMENT naming every problem (`replicas: expected number`).
 */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const errors = formatIssues(r.error.issues, '');
  throw new NerveError('INVALID_ARGUMENT', `invalid ${what}: ${errors.join('; ')}`, errors);
}
