import { RE2JS } from 're2js';
import { z } from 'zod';

/**
 * Which calls a rollout sends to its canary whatever its weight (Flagger's `match`): a call matches a
 * rule when every header and every cookie the rule names matches; it goes to the canary when any rule
 * matches. Values match `exact`ly, or a `regex` matches the whole value. Regular expressions are RE2
 * (linear time, no backreferences or lookaround): the router runs them on what callers send, and a
 * backtracking pattern would let one header stall it.
 */
export const stringMatchSchema = z
  .strictObject({
    exact: z.string().max(1_024).optional(),
    regex: z.string().min(1).max(1_024).optional(),
  })
  .superRefine((m, ctx) => {
    if ((m.exact === undefined) === (m.regex === undefined))
      ctx.addIssue({ code: 'custom', message: 'give exactly one of exact or regex' });
    if (m.regex !== undefined) {
      const why = regexError(m.regex);
      if (why) ctx.addIssue({ code: 'custom', path: ['regex'], message: why });
    }
  });

export type StringMatch = z.output<typeof stringMatchSchema>;

/** HTTP/2 header names are lowercase tokens; `:authority` and `:path` may be matched too. */
const HEADER_NAME = /^(:authority|:path|[a-z0-9!#$%&'*+.^_`|~-]+)$/;
const COOKIE_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;

export const callMatchSchema = z
  .strictObject({
    headers: z
      .record(
        z.string().regex(HEADER_NAME, 'a lowercase header name (HTTP/2), or :authority or :path'),
        stringMatchSchema,
      )
      .optional(),
    cookie: z.record(z.string().regex(COOKIE_NAME, 'a cookie name'), stringMatchSchema).optional(),
  })
  .superRefine((m, ctx) => {
    const n = Object.keys(m.headers ?? {}).length + Object.keys(m.cookie ?? {}).length;
    if (n === 0)
      ctx.addIssue({ code: 'custom', message: 'a match rule names at least one header or cookie' });
    if (n > 8) ctx.addIssue({ code: 'custom', message: `at most 8 conditions per rule, got ${n}` });
  });

export type CallMatch = z.output<typeof callMatchSchema>;

/** Why RE2 refuses the pattern, or undefined when it compiles. */
export function regexError(source: string): string | undefined {
  try {
    RE2JS.compile(source);
    return undefined;
  } catch (err) {
    return `not an RE2 regular expression: ${(err as Error).message}`;
  }
}
