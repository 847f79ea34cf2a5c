import { z } from 'zod';
import type { Alert } from './alert';
import { labelName } from './label-name';

export { labelName };

export const MATCH_OPS = ['=', '!=', '=~', '!~'] as const;

/**
 * A matcher as Alertmanager's: equal, not equal, matches and does not match a regular expression
 * (anchored: the whole value must match). An absent label reads as the empty string.
 */
export const matcherSchema = z
  .strictObject({
    label: labelName,
    op: z.enum(MATCH_OPS).default('='),
    value: z.string().max(1_024),
  })
  .superRefine((m, ctx) => {
    if (m.op.endsWith('~') && compile(m.value) === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `not a valid regular expression: ${m.value}`,
      });
  });

export type Matcher = z.output<typeof matcherSchema>;

const compiled = new Map<string, RegExp | undefined>();

/** Anchored as Alertmanager's regular expressions are; compiled once per pattern. */
function compile(source: string): RegExp | undefined {
  if (compiled.has(source)) return compiled.get(source);
  let re: RegExp | undefined;
  try {
    re = new RegExp(`^(?:${source})$`);
  } catch {
    re = undefined;
  }
  if (compiled.size > 1_000) compiled.clear();
  compiled.set(source, re);
  return re;
}

/**
 * An alert's labels: `alertname` and `rule` (the rule's id), `severity`, `engine` and `instance` when
 * it has them, and the rule's own labels (which never override these).
 */
export function labelsOf(alert: Alert): Record<string, string> {
  return {
    ...alert.labels,
    alertname: alert.rule,
    rule: alert.rule,
    severity: alert.severity,
    ...(alert.engine !== null && { engine: alert.engine }),
    ...(alert.instance !== null && { instance: alert.instance }),
  };
}

/** One label of an alert ('' when it has none). */
export function labelOf(alert: Alert, name: string): string {
  switch (name) {
    case 'rule':
    case 'alertname':
      return alert.rule;
    case 'engine':
      return alert.engine ?? '';
    case 'instance':
      return alert.instance ?? '';
    case 'severity':
      return alert.severity;
    default:
      return alert.labels?.[name] ?? '';
  }
}

export function matches(alert: Alert, m: Matcher): boolean {
  const value = labelOf(alert, m.label);
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return compile(m.value)?.test(value) ?? false;
    case '!~':
      return !(compile(m.value)?.test(value) ?? false);
  }
}

export const matchesAll = (alert: Alert, ms: readonly Matcher[]) => ms.every((m) => matches(alert, m));
