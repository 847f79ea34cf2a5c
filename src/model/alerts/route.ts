import { z } from 'zod';
import { formatIssues, name, type Result } from '../validate';
import type { Alert } from './alert';
import { labelName, labelOf, labelsOf, type Matcher, matcherSchema, matchesAll } from './matchers';
import type { AlertRule } from './rule';

/** Alertmanager's defaults for a tree's root: group_wait 30 s, group_interval 5 min, repeat_interval 4 h. */
export const ROUTE_DEFAULTS = {
  groupWaitMs: 30_000,
  groupIntervalMs: 300_000,
  repeatIntervalMs: 4 * 3_600_000,
};
/** The one routing tree's entry name. */
export const ROOT_ROUTE = 'root';
/** `groupBy: ["..."]`: every label, as Alertmanager's. */
export const ALL_LABELS = '...';

const ms = z
  .number()
  .int()
  .min(0)
  .max(7 * 86_400_000);

/** A route as Alertmanager's, in Nerve's names; what a node leaves out it inherits from its parent. */
export interface RouteInput {
  channels?: string[];
  matchers?: Matcher[];
  continue?: boolean;
  groupBy?: string[];
  groupWaitMs?: number;
  groupIntervalMs?: number;
  repeatIntervalMs?: number;
  muteTimeIntervals?: string[];
  activeTimeIntervals?: string[];
  routes?: RouteInput[];
}

const routeFields = {
  /** Channels that take its groups' notifications (Alertmanager's receiver). */
  channels: z.array(name).optional(),
  /** All must match; a node without matchers takes every alert that reaches it. */
  matchers: z.array(matcherSchema).optional(),
  /** After a match, the next siblings are tried too. */
  continue: z.boolean().optional(),
  groupBy: z.array(z.union([labelName, z.literal(ALL_LABELS)])).optional(),
  /** A new group's first notification waits this long for others. */
  groupWaitMs: ms.optional(),
  /** Changes to a group already told are sent at most this often, batched. */
  groupIntervalMs: ms.optional(),
  /** A group still firing, unchanged and not acknowledged, is told again this often. */
  repeatIntervalMs: ms.optional(),
  /** Names of time intervals during which its notifications are held. */
  muteTimeIntervals: z.array(name).optional(),
  /** Names of time intervals outside which its notifications are held. */
  activeTimeIntervals: z.array(name).optional(),
};

export const routeSchema: z.ZodType<RouteInput> = z.lazy(() =>
  z.strictObject({ ...routeFields, routes: z.array(routeSchema).max(100).optional() }),
);

/**
 * The routing tree (one entry, named `root`): the root takes every alert, and its `channels` are the
 * default receiver. Rules that list `channels` keep notifying them as before, each rule a route of its
 * own beside the tree.
 */
export const routeTreeSchema = z
  .strictObject({
    name: z.literal(ROOT_ROUTE, { error: `the routing tree is one entry, named ${ROOT_ROUTE}` }),
    ...routeFields,
    routes: z.array(routeSchema).max(100).default([]),
  })
  .superRefine((r, ctx) => {
    if (r.matchers?.length)
      ctx.addIssue({
        code: 'custom',
        path: ['matchers'],
        message: 'the root takes every alert: no matchers',
      });
    if (r.continue) ctx.addIssue({ code: 'custom', path: ['continue'], message: 'not on the root' });
  });

export type RouteTree = z.output<typeof routeTreeSchema>;

export function parseRouteTree(input: unknown, prefix = ''): Result<RouteTree> {
  const parsed = routeTreeSchema.safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, errors: formatIssues(parsed.error.issues, prefix) };
}

/** A route as it applies: its own settings over what it inherits. `key`: `/`, `/0`, `/0/2`; a rule's id. */
export interface EffectiveRoute {
  readonly key: string;
  readonly channels: readonly string[];
  /** Label names, or `all` (every label). */
  readonly groupBy: readonly string[] | 'all';
  readonly groupWaitMs: number;
  /** 0: changes go out at once (a rule's own route, as before the tree). */
  readonly groupIntervalMs: number;
  readonly repeatIntervalMs: number;
  readonly muteTimeIntervals: readonly string[];
  readonly activeTimeIntervals: readonly string[];
}

function inherit(parent: EffectiveRoute, node: RouteInput, key: string): EffectiveRoute {
  return {
    key,
    channels: node.channels ?? parent.channels,
    groupBy: node.groupBy ? (node.groupBy.includes(ALL_LABELS) ? 'all' : node.groupBy) : parent.groupBy,
    groupWaitMs: node.groupWaitMs ?? parent.groupWaitMs,
    groupIntervalMs: node.groupIntervalMs ?? parent.groupIntervalMs,
    repeatIntervalMs: node.repeatIntervalMs ?? parent.repeatIntervalMs,
    muteTimeIntervals: node.muteTimeIntervals ?? parent.muteTimeIntervals,
    activeTimeIntervals: node.activeTimeIntervals ?? parent.activeTimeIntervals,
  };
}

const BASE: EffectiveRoute = {
  key: '/',
  channels: [],
  groupBy: [],
  ...ROUTE_DEFAULTS,
  muteTimeIntervals: [],
  activeTimeIntervals: [],
};

/** A rule's own route (the form before the tree): its channels, grouping, wait and cooldown; changes at once. */
export function ruleRoute(rule: AlertRule): EffectiveRoute {
  return {
    key: rule.id,
    channels: rule.channels,
    groupBy: rule.groupBy,
    groupWaitMs: rule.groupWaitMs,
    groupIntervalMs: 0,
    repeatIntervalMs: rule.cooldownMs,
    muteTimeIntervals: [],
    activeTimeIntervals: [],
  };
}

/**
 * Where alerts go: the rules' own routes and the tree. Alertmanager's matching: from the root down, the
 * first child whose matchers all match takes the alert (and the next ones too while a match says
 * `continue`); a node no child takes is where the alert lands.
 */
export class AlertRouting {
  private readonly byKey = new Map<string, EffectiveRoute>();
  private readonly root: EffectiveRoute | undefined;

  constructor(
    readonly rules: ReadonlyMap<string, AlertRule>,
    private readonly tree: RouteTree | undefined,
  ) {
    for (const r of rules.values()) this.byKey.set(r.id, ruleRoute(r));
    if (tree) {
      this.root = inherit(BASE, tree, '/');
      this.index(tree, this.root);
    }
  }

  private index(node: RouteInput, eff: EffectiveRoute): void {
    this.byKey.set(eff.key, eff);
    (node.routes ?? []).forEach((child, i) =>
      this.index(child, inherit(eff, child, `${eff.key === '/' ? '' : eff.key}/${i}`)),
    );
  }

  /** A route by key (for a group whose alerts are gone); undefined: the rule or route was removed. */
  route(key: string): EffectiveRoute | undefined {
    return this.byKey.get(key);
  }

  /** The routes an alert lands on: its rule's own when the rule lists channels or there is no tree. */
  routesFor(alert: Alert): EffectiveRoute[] {
    const out: EffectiveRoute[] = [];
    const rule = this.rules.get(alert.rule);
    if (rule && (rule.channels.length > 0 || !this.tree)) out.push(this.byKey.get(rule.id)!);
    if (this.tree && this.root) this.walk(this.tree, this.root, alert, out);
    return out;
  }

  private walk(node: RouteInput, eff: EffectiveRoute, alert: Alert, out: EffectiveRoute[]): void {
    const before = out.length;
    const children = node.routes ?? [];
    for (let i = 0; i < children.length; i++) {
      const child = children[i];
      if (!matchesAll(alert, child.matchers ?? [])) continue;
      this.walk(child, this.byKey.get(`${eff.key === '/' ? '' : eff.key}/${i}`)!, alert, out);
      if (!child.continue) break;
    }
    if (out.length === before) out.push(eff);
  }
}

/** A group's labels under a route: the `groupBy` labels (in order), or every label. */
export function groupLabelsOf(route: EffectiveRoute, alert: Alert): Record<string, string> {
  if (route.groupBy === 'all') return labelsOf(alert);
  const labels: Record<string, string> = {};
  for (const l of route.groupBy) labels[l] = labelOf(alert, l);
  return labels;
}
