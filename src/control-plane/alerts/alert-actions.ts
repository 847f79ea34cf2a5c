import type { ActionRecord } from '../../model/alerts/action-plan';
import type { Logger } from '../../observability/logger';
import type { AdminContext } from '../commands/admin-context';

/**
 * What alert actions change, through the same admin commands an operator's call takes (so each change
 * is an audited, versioned write), bound when the control plane is composed. Each is idempotent: a
 * drain of a draining instance, a scale to the replicas there are, changes nothing, so a leader that
 * takes over an action another started may take it again safely.
 */
export interface AlertActuator {
  drain(engine: string, instance: string, ctx: AdminContext): Promise<void>;
  undrain(engine: string, instance: string, ctx: AdminContext): Promise<void>;
  /** Pauses the engine's active rollout; resolves with its id (throws when none is active). */
  pauseRollout(engine: string, ctx: AdminContext): Promise<string>;
  resumeRollout(engine: string, rollout: string, ctx: AdminContext): Promise<void>;
  /** A managed engine's replicas and its runtime's bounds (undefined: not managed). */
  replicas(engine: string): { current: number; min: number; max: number } | undefined;
  scale(engine: string, replicas: number, ctx: AdminContext): Promise<void>;
  pinWeight(engine: string, instance: string, weight: number, ctx: AdminContext): Promise<void>;
  unpinWeight(engine: string, instance: string, ctx: AdminContext): Promise<void>;
  /** The configuration version now (recorded on the action). */
  version(): number;
  /** Tells the fleet's event log (the feed, the dashboard, `GET /engines/:name`). */
  event(
    engine: string,
    instance: string | null,
    message: string,
    data: Record<string, string | number>,
  ): void;
}

/** Takes a running action or undoes a done one; resolves with the record as it went. */
export async function takeAction(
  r: ActionRecord,
  act: AlertActuator,
  logger: Logger,
  nowMs: () => number = Date.now,
): Promise<ActionRecord> {
  const ctx: AdminContext = { actor: `alert:${r.rule}`, via: 'alert', requestId: r.id };
  const undo = r.state === 'undoing';
  const engine = r.engine!;
  const instance = r.instance ?? '';
  let rollout = r.rollout;
  try {
    switch (r.type) {
      case 'drain':
        await (undo ? act.undrain(engine, instance, ctx) : act.drain(engine, instance, ctx));
        break;
      case 'undrain':
        await act.undrain(engine, instance, ctx);
        break;
      case 'pause-rollout':
        if (undo) await act.resumeRollout(engine, rollout!, ctx);
        else rollout = await act.pauseRollout(engine, ctx);
        break;
      case 'scale':
        await act.scale(engine, undo ? r.previous! : r.target!, ctx);
        break;
      case 'pin-weight':
        await (undo
          ? act.unpinWeight(engine, instance, ctx)
          : act.pinWeight(engine, instance, r.target!, ctx));
        break;
    }
  } catch (err) {
    const reason = `${undo ? 'undo of ' : ''}${r.reason.replace(/: .*$/, '')}: ${(err as Error).message}`;
    logger.warn('alert action failed', { action: r.id, error: (err as Error).message });
    act.event(engine, r.instance, `alert ${r.rule}: ${reason}`, {
      rule: r.rule,
      alert: r.alert,
      action: r.type,
      state: 'failed',
    });
    return { ...r, state: undo ? 'undo-failed' : 'failed', reason, doneAtMs: nowMs() };
  }
  const done: ActionRecord = {
    ...r,
    state: undo ? 'undone' : 'done',
    reason: undo ? `undone (the alert resolved): ${r.reason}` : r.reason,
    doneAtMs: nowMs(),
    configVersion: act.version(),
    ...(rollout !== undefined && { rollout }),
  };
  act.event(engine, r.instance, `alert ${r.rule}: ${done.reason}`, {
    rule: r.rule,
    alert: r.alert,
    action: r.type,
    state: done.state,
    configVersion: done.configVersion ?? 0,
  });
  return done;
}
