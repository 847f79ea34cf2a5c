import { z } from 'zod';
import { formatIssues, name, type Result } from '../validate';
import { labelName } from './label-name';
import { actionSchema } from './action';

/** alert severities, lowest first. */
export const SEVERITIES = ['info', 'warning', 'error', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** Summary figures a condition can watch, per engine (or over the fleet without an engine). */
export const RULE_METRICS = [
  'errorRate',
  'p50Ms',
  'p95Ms',
  'p99Ms',
  'rps',
  'inFlight',
  'healthyInstances',
  'healthyShare',
  'cpu',
  'memory',
] as const;
export type RuleMetric = (typeof RULE_METRICS)[number];

/** events a rule can fire on. */
export const ALERT_EVENTS = [
  'instance_down',
  'engine_unavailable',
  'circuit_open',
  'xds_nack',
  'crash_loop',
  'lease_lapsed',
  'rollout_rolled_back',
  'config_changed',
  'store_unavailable',
] as const;
export type AlertEvent = (typeof ALERT_EVENTS)[number];

export const OPS = ['>', '>=', '<', '<=', '==', '!='] as const;
export type Op = (typeof OPS)[number];

/** Labels alerts carry, by which rules group them and silences match them. */
export const GROUP_LABELS = ['rule', 'engine', 'instance', 'severity'] as const;
export type GroupLabel = (typeof GROUP_LABELS)[number];

const ms = z
  .number()
  .int()
  .min(0)
  .max(7 * 86_400_000);

export const alertRuleSchema = z
  .strictObject({
    id: name,
    name: z.string().min(1).max(200),
    severity: z.enum(SEVERITIES),
    /** Absent: every engine, each its own alert. */
    engine: name.optional(),
    /** `fleet`: one alert for the whole fleet (its overall figures; events anywhere in it). */
    scope: z.enum(['engine', 'fleet']).default('engine'),
    condition: z
      .strictObject({
        metric: z.enum(RULE_METRICS),
        op: z.enum(OPS),
        threshold: z.number().finite(),
        /** How long the condition must hold before the alert fires (pending until then). */
        forMs: ms.default(0),
        /** How long the alert keeps firing after the condition stops holding (flapping guard). */
        keepFiringForMs: ms.default(0),
      })
      .optional(),
    event: z.enum(ALERT_EVENTS).optional(),
    /**
     * An event rule's flapping guard: its alert keeps firing this long after the event stops holding, so
     * an instance down and up every few seconds is one alert, not many (a condition has its own).
     */
    keepFiringForMs: ms.optional(),
    /** A firing group is notified again this often until acknowledged or resolved (repeat interval). */
    cooldownMs: ms.default(4 * 3_600_000),
    channels: z.array(name).default([]),
    /** What the rule does when an alert of it fires, beside notifying (guarded; see action.ts). */
    actions: z.array(actionSchema).max(5).default([]),
    /** Labels of the rule's own (team, service, …) that its alerts carry, for routes and receivers to match. */
    labels: z.record(labelName, z.string().max(1_024)).default({}),
    /** How alerts of this rule are grouped into notifications. */
    groupBy: z.array(z.enum(GROUP_LABELS)).default(['rule', 'engine']),
    /** Alerts of a new group wait this long for others before the first notification. */
    groupWaitMs: ms.default(1_000),
    enabled: z.boolean().default(true),
  })
  .superRefine((r, ctx) => {
    if ((r.condition === undefined) === (r.event === undefined))
      ctx.addIssue({ code: 'custom', path: [], message: 'a rule has either a condition or an event' });
    if (r.condition !== undefined && r.keepFiringForMs !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['keepFiringForMs'],
        message: 'for an event rule; a condition takes condition.keepFiringForMs',
      });
  });

export type AlertRule = z.output<typeof alertRuleSchema>;

export function parseAlertRule(input: unknown, prefix = ''): Result<AlertRule> {
  const parsed = alertRuleSchema.safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, errors: formatIssues(parsed.error.issues, prefix) };
}

export function compare(value: number, op: Op, threshold: number): boolean {
  switch (op) {
    case '>':
      return value > threshold;
    case '>=':
      return value >= threshold;
    case '<':
      return value < threshold;
    case '<=':
      return value <= threshold;
    case '==':
      return value === threshold;
    case '!=':
      return value !== threshold;
  }
}
