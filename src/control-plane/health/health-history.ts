import type { ConfigStore } from '../../store/config-store';
import { SharedNamespace } from '../../store/shared-namespace';

/** Shared namespace of health transitions: field = engine → its newest transitions, oldest first. */
export const HEALTH_HISTORY_NS = new SharedNamespace<HealthTransition[]>(
  'health-history',
  'the leader, fenced',
);
/** Transitions kept per engine: at one a minute, more than a shift's worth. */
export const HISTORY_PER_ENGINE = 500;

export interface HealthTransition {
  /** RFC 3339. */
  readonly at: string;
  readonly atMs: number;
  readonly instance: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
  /**
   * What changed the instance's routing: `probe` (absent in older records), `drain`, `lease`,
   * `circuit`, `ejection` (one router's); and who, when a person or a part of Nerve other than the
   * prober did.
   */
  readonly kind?: 'probe' | 'drain' | 'lease' | 'circuit' | 'ejection';
  readonly actor?: string;
}

/**
 * Health transitions as history, kept in the store's shared state so every replica answers the same and
 * a restart loses nothing. Only the leader (which measures health) appends, fenced.
 */
export class HealthHistory {
  constructor(private readonly store: ConfigStore) {}

  /** Transitions of an engine at or after `sinceMs`, oldest first. */
  list(engine: string, sinceMs = 0): HealthTransition[] {
    const all = HEALTH_HISTORY_NS.get(this.store, engine) ?? [];
    return sinceMs > 0 ? all.filter((t) => t.atMs >= sinceMs) : all;
  }

  /** Appends transitions (engine → its new ones), keeping the newest HISTORY_PER_ENGINE of each. */
  async append(byEngine: ReadonlyMap<string, readonly HealthTransition[]>, fence: string): Promise<void> {
    const fields = [...byEngine].map(([engine, added]) => {
      const next = [...this.list(engine), ...added].slice(-HISTORY_PER_ENGINE);
      return [engine, next] as const;
    });
    if (fields.length > 0) await HEALTH_HISTORY_NS.put(this.store, fields, fence);
  }

  /** History of engines no longer configured is dropped. */
  async forget(engines: readonly string[], fence: string): Promise<void> {
    const gone = engines.filter((e) => HEALTH_HISTORY_NS.has(this.store, e));
    if (gone.length > 0)
      await HEALTH_HISTORY_NS.put(
        this.store,
        gone.map((e) => [e, undefined] as const),
        fence,
      );
  }
}
