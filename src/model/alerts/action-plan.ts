import type { Alert } from './alert';
import type { ActionType } from './action';
import type { AlertRule } from './rule';

const HOUR_MS = 3_600_000;

export type ActionState =
  | 'awaiting-approval'
  | 'running'
  | 'done'
  | 'dry-run'
  | 'refused'
  | 'failed'
  | 'lapsed'
  | 'undoing'
  | 'undone'
  | 'undo-failed';

/** One action taken (or not) for one firing of one alert: what, why, and how it went. */
export interface ActionRecord {
  /** `<alert id>@<its start>#<action index>`: one per firing, so a leader never takes it twice. */
  readonly id: string;
  readonly alert: string;
  readonly rule: string;
  readonly index: number;
  readonly type: ActionType;
  readonly engine: string | null;
  readonly instance: string | null;
  readonly state: ActionState;
  /** In words: what it does or did, or why not. */
  readonly reason: string;
  readonly requestedAtMs: number;
  readonly doneAtMs: number;
  readonly undo: boolean;
  readonly approvedBy?: string;
  /** scale: the replicas it sets and those it found (the undo's target); pin-weight: the weight. */
  readonly target?: number;
  readonly previous?: number;
  /** pause-rollout: the rollout it paused. */
  readonly rollout?: string;
  /** The configuration version its change made (absent: none, or not yet). */
  readonly configVersion?: number;
}

/** What the guards read of the fleet now. */
export interface FleetFacts {
  /** Healthy instances of an engine, and whether `instance` is one of them. */
  healthy(engine: string, instance: string | null): { healthy: number; instanceHealthy: boolean };
  /** A managed engine's replicas and its runtime's bounds (undefined: not scalable). */
  replicas(engine: string): { current: number; min: number; max: number } | undefined;
}

export const actionId = (a: Alert, index: number) => `${a.id}@${a.startedAtMs}#${index}`;

const counted = (s: ActionState) => s === 'done' || s === 'running' || s === 'undoing' || s === 'undone';

function describe(type: ActionType, engine: string, instance: string | null, target?: number): string {
  switch (type) {
    case 'drain':
      return `drain ${engine}/${instance}`;
    case 'undrain':
      return `undrain ${engine}/${instance}`;
    case 'pause-rollout':
      return `pause the rollout of ${engine}`;
    case 'scale':
      return `scale ${engine} to ${target} replicas`;
    case 'pin-weight':
      return `pin the weight of ${engine}/${instance} at ${target}`;
  }
}

/**
 * The actions due now (pure): a record for each action of each alert that started firing, its guards
 * applied (`running` when it is to be taken now); approvals (`approvals`: record id → who) turn a
 * waiting action into a running one, time turns it lapsed; a done action whose alert resolved (or went)
 * is to be undone (`undoing`) when asked. The caller persists the records, then takes the running and
 * undoing ones and records how they went.
 */
export function planActions(
  rules: ReadonlyMap<string, AlertRule>,
  alerts: readonly Alert[],
  records: readonly ActionRecord[],
  approvals: ReadonlyMap<string, string>,
  facts: FleetFacts,
  nowMs: number,
): ActionRecord[] {
  const out: ActionRecord[] = [];
  const known = new Set(records.map((r) => r.id));
  const firing = new Set<string>();
  for (const a of alerts)
    if (a.state === 'firing' || a.state === 'acknowledged') firing.add(`${a.id}@${a.startedAtMs}`);

  for (const r of records) {
    const rule = rules.get(r.rule);
    const action = rule?.actions?.[r.index];
    if (r.state === 'awaiting-approval') {
      const by = approvals.get(r.id);
      if (!firing.has(r.id.slice(0, r.id.lastIndexOf('#'))))
        out.push({
          ...r,
          state: 'lapsed',
          reason: `${r.reason}: the alert resolved before an approval`,
          doneAtMs: nowMs,
        });
      else if (by !== undefined) out.push({ ...r, state: 'running', approvedBy: by });
      else if (action?.approveWithinMs !== undefined && nowMs - r.requestedAtMs >= action.approveWithinMs)
        out.push({
          ...r,
          state: 'lapsed',
          reason: `${r.reason}: no approval within ${action.approveWithinMs} ms`,
          doneAtMs: nowMs,
        });
      else out.push(r);
    } else if (r.state === 'done' && r.undo && !firing.has(r.id.slice(0, r.id.lastIndexOf('#'))))
      out.push({ ...r, state: 'undoing' });
    else out.push(r);
  }

  for (const a of alerts) {
    if (a.state !== 'firing' && a.state !== 'acknowledged') continue;
    const rule = rules.get(a.rule);
    (rule?.actions ?? []).forEach((action, index) => {
      const id = actionId(a, index);
      if (known.has(id)) return;
      const base = {
        id,
        alert: a.id,
        rule: a.rule,
        index,
        type: action.type,
        engine: a.engine,
        instance: a.instance,
        requestedAtMs: nowMs,
        doneAtMs: 0,
        undo: action.undoOnResolve,
      };
      const refuse = (reason: string) => out.push({ ...base, state: 'refused', reason, doneAtMs: nowMs });
      if (a.engine === null) return refuse('a fleet-wide alert names no engine to act on');
      if (
        (action.type === 'drain' || action.type === 'undrain' || action.type === 'pin-weight') &&
        a.instance === null
      )
        return refuse(`the alert names no instance to ${action.type}`);
      // `out` holds every earlier record (carried over first) and those made in this pass.
      const recent = out.filter(
        (r) =>
          r.rule === a.rule && r.engine === a.engine && counted(r.state) && nowMs - r.requestedAtMs < HOUR_MS,
      ).length;
      if (recent >= action.maxPerHour)
        return refuse(
          `rate limit: ${recent} actions of rule ${a.rule} on ${a.engine} in the last hour (maxPerHour ${action.maxPerHour})`,
        );
      let target: number | undefined;
      let previous: number | undefined;
      if (action.type === 'drain') {
        const h = facts.healthy(a.engine, a.instance);
        const after = h.healthy - (h.instanceHealthy ? 1 : 0);
        if (after < action.minHealthy)
          return refuse(
            `would leave ${after} healthy instances of ${a.engine}, below minHealthy ${action.minHealthy}`,
          );
      } else if (action.type === 'scale') {
        const r = facts.replicas(a.engine);
        if (!r) return refuse(`${a.engine} has no managed replicas to scale`);
        const lo = Math.max(r.min, action.minReplicas ?? 0);
        const hi = Math.min(r.max, action.maxReplicas ?? Infinity);
        target = Math.min(hi, Math.max(lo, r.current + action.replicasBy!));
        previous = r.current;
        if (target === r.current)
          return refuse(`${a.engine} is at its bound (${r.current} replicas, ${lo}..${hi})`);
      } else if (action.type === 'pin-weight') target = action.weight;
      const what = describe(action.type, a.engine, a.instance, target);
      const record: ActionRecord = {
        ...base,
        state: action.dryRun
          ? 'dry-run'
          : action.approveWithinMs !== undefined
            ? 'awaiting-approval'
            : 'running',
        reason: action.dryRun ? `dry run: would ${what}` : what,
        ...(action.dryRun && { doneAtMs: nowMs }),
        ...(target !== undefined && { target }),
        ...(previous !== undefined && { previous }),
      };
      out.push(record);
    });
  }
  return out;
}
