import { z } from 'zod';

export const ACTION_TYPES = ['drain', 'undrain', 'pause-rollout', 'scale', 'pin-weight'] as const;
export type ActionType = (typeof ACTION_TYPES)[number];

/**
 * What a rule does when one of its alerts fires, beside notifying: drain or undrain the alert's
 * instance, pause the engine's rollout, scale the engine by `replicasBy` (within its runtime's bounds
 * and the action's own), or pin the instance's weight. Guarded: at most `maxPerHour` per rule and
 * engine, never a drain below `minHealthy` healthy instances, `dryRun` only says what it would do,
 * `approveWithinMs` waits for an operator's approval (and lapses), `undoOnResolve` reverses it when the
 * alert resolves.
 */
export const actionSchema = z
  .strictObject({
    type: z.enum(ACTION_TYPES),
    /** scale: replicas to add (negative: to remove). */
    replicasBy: z.number().int().min(-100).max(100).optional(),
    /** scale: bounds of its own, inside the runtime's minReplicas..maxReplicas. */
    minReplicas: z.number().int().min(0).max(1_000).optional(),
    maxReplicas: z.number().int().min(1).max(1_000).optional(),
    /** pin-weight: the weight the instance is pinned at. */
    weight: z.number().int().min(0).max(1_000_000).optional(),
    maxPerHour: z.number().int().min(1).max(100).default(3),
    /** drain: the engine keeps at least this many healthy instances. */
    minHealthy: z.number().int().min(0).max(10_000).default(1),
    dryRun: z.boolean().default(false),
    /** When set, the action waits this long for an operator's approval, then lapses. */
    approveWithinMs: z
      .number()
      .int()
      .min(1_000)
      .max(7 * 86_400_000)
      .optional(),
    undoOnResolve: z.boolean().default(false),
  })
  .superRefine((a, ctx) => {
    if (a.type === 'scale' && !a.replicasBy)
      ctx.addIssue({ code: 'custom', path: ['replicasBy'], message: 'required for scale (not 0)' });
    if (a.type === 'pin-weight' && a.weight === undefined)
      ctx.addIssue({ code: 'custom', path: ['weight'], message: 'required for pin-weight' });
    if (a.type !== 'scale' && (a.replicasBy ?? a.minReplicas ?? a.maxReplicas) !== undefined)
      ctx.addIssue({ code: 'custom', path: ['replicasBy'], message: 'only for scale' });
    if (a.type !== 'pin-weight' && a.weight !== undefined)
      ctx.addIssue({ code: 'custom', path: ['weight'], message: 'only for pin-weight' });
    if (a.type === 'undrain' && a.undoOnResolve)
      ctx.addIssue({ code: 'custom', path: ['undoOnResolve'], message: 'an undrain has nothing to undo' });
  });

export type Action = z.output<typeof actionSchema>;
