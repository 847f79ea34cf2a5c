import { z } from 'zod';
import { formatIssues, name, type Result } from '../validate';
import type { Alert } from './alert';
import { labelName, labelOf, matcherSchema, matchesAll as all } from './matchers';

/**
 * An inhibit rule, as Alertmanager's `inhibit_rules`: while an alert matching every source matcher
 * fires, alerts matching every target matcher are not notified, when they carry the same values of the
 * `equal` labels. An engine down mutes its instances' alerts:
 * `{source: [{label: rule, value: engine-down}], target: [{label: instance, op: "!=", value: ""}],
 * equal: [engine]}`.
 */
export const inhibitRuleSchema = z.strictObject({
  id: name,
  sourceMatchers: z.array(matcherSchema).min(1),
  targetMatchers: z.array(matcherSchema).min(1),
  equal: z.array(labelName).default([]),
  comment: z.string().max(1_000).default(''),
});

export type InhibitRule = z.output<typeof inhibitRuleSchema>;

export function parseInhibitRule(input: unknown, prefix = ''): Result<InhibitRule> {
  const parsed = inhibitRuleSchema.safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, errors: formatIssues(parsed.error.issues, prefix) };
}

const active = (a: Alert) => a.state === 'firing' || a.state === 'acknowledged';

/**
 * Which alerts are inhibited, and by which rules: alert id → rule ids. As Alertmanager: only firing
 * alerts inhibit, an alert never inhibits itself, and an alert matching both sides of a rule cannot
 * inhibit another that also matches both (two such alerts would otherwise mute each other).
 */
export function inhibitions(alerts: readonly Alert[], rules: readonly InhibitRule[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const rule of rules) {
    const sources = alerts.filter((a) => active(a) && all(a, rule.sourceMatchers));
    if (sources.length === 0) continue;
    for (const target of alerts) {
      if (target.state === 'resolved' || !all(target, rule.targetMatchers)) continue;
      const targetIsSource = all(target, rule.sourceMatchers);
      const by = sources.some(
        (s) =>
          s.id !== target.id &&
          !(targetIsSource && all(s, rule.targetMatchers)) &&
          rule.equal.every((l) => labelOf(s, l) === labelOf(target, l)),
      );
      if (by) out.set(target.id, [...(out.get(target.id) ?? []), rule.id]);
    }
  }
  return out;
}
