import type { ChangeRecord } from '../../model/config';
import type { EngineSpec } from '../../model/engine';
import { ENGINE_KIND, fromDocument } from '../../model/engine-document';
import { NerveError } from '../../model/errors';
import { echo } from '../../model/echo';
import type { ConfigStore } from '../../store/config-store';
import { HISTORY_PER_ENGINE, type HealthTransition } from '../health/health-history';
import { standingsAt } from './standing-at';

/** How far back "what changed before" looks from the moment asked about. */
export const RECENT_MS = 5 * 60_000;

/** The routing state of an engine at a past moment, and what changed in the minutes before it. */
export interface EngineAtView {
  readonly engine: string;
  readonly at: string;
  /** The configuration version in force then (0: before the first). */
  readonly configVersion: number;
  /** False: the engine was not configured then (not yet, or deleted). */
  readonly configured: boolean;
  /**
   * The versions' configured weights, and the share of calls each took then (percent): its weight over
   * the weights of the versions that had an instance in rotation.
   */
  readonly versions: readonly { name: string; weight: number; sharePercent: number }[];
  readonly strategy?: string;
  /** The engine's policy in force then (balancing, timeouts, retries, breaker, outlier detection…). */
  readonly policy?: EngineSpec['policy'];
  readonly instances: readonly {
    id: string;
    address: string;
    version: string;
    weight: number;
    inRotation: boolean;
    reasons: readonly string[];
  }[];
  /** Configuration changes of the engine and its instances' routing transitions, oldest first. */
  readonly recent: readonly { at: string; what: string; by?: string; instance?: string }[];
  /** What the answer can see: the health history keeps the newest transitions per engine. */
  readonly retention: { readonly transitionsPerEngine: number; readonly transitionsFrom: string | null };
}

/**
 * Rebuilds an engine's routing state at a past moment (GET /explain/engines/:name?at=) from what the
 * control plane keeps: the configuration log (the engine's spec in force then) and the engine's health
 * history (probes, drains, leases, fleet-wide circuits, each router's ejections). Every replica answers
 * the same: both live in the store.
 */
export class EngineExplainer {
  constructor(
    private readonly store: Pick<ConfigStore, 'version' | 'changes'>,
    private readonly transitions: (engine: string) => readonly HealthTransition[],
    /** Whether an engine of that name is configured now. */
    private readonly known: (engine: string) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  async at(engine: string, atMs: number): Promise<EngineAtView> {
    if (!Number.isFinite(atMs) || atMs > this.now())
      throw new NerveError('INVALID_ARGUMENT', 'at must be a moment in the past');
    const version = await this.versionAt(atMs);
    const { spec, changes } = await this.specAt(engine, version, atMs - RECENT_MS);
    const history = this.transitions(engine);
    if (spec === undefined && changes.length === 0 && history.length === 0 && !this.known(engine))
      throw new NerveError('NOT_FOUND', `engine ${echo(engine)} not found, now or in the history`);
    const instances = spec?.instances ?? [];
    const standings = standingsAt(
      history,
      instances.map((i) => i.id),
      atMs,
    );
    const recent = [
      ...changes.map((c) => ({ atMs: c.at, at: new Date(c.at).toISOString(), what: c.summary, by: c.actor })),
      ...history
        .filter((t) => t.atMs <= atMs && t.atMs >= atMs - RECENT_MS)
        .map((t) => ({
          atMs: t.atMs,
          at: t.at,
          what: `${t.from} → ${t.to}: ${t.reason}`,
          by: t.actor,
          instance: t.instance,
        })),
    ]
      .sort((a, b) => a.atMs - b.atMs)
      .map(({ atMs: _, ...rest }) => rest);
    const views = instances.map((i, n) => {
      const reasons = [...standings[n].reasons];
      if (i.weight === 0) reasons.unshift('weight 0 in the configuration');
      return {
        id: i.id,
        address: i.address,
        version: i.version,
        weight: i.weight,
        inRotation: standings[n].inRotation && i.weight > 0,
        reasons,
      };
    });
    const serving = new Set(views.filter((i) => i.inRotation).map((i) => i.version));
    const total = (spec?.versions ?? []).reduce((sum, v) => sum + (serving.has(v.name) ? v.weight : 0), 0);
    return {
      engine,
      at: new Date(atMs).toISOString(),
      configVersion: version,
      configured: spec !== undefined,
      versions:
        spec?.versions.map((v) => ({
          name: v.name,
          weight: v.weight,
          sharePercent: total > 0 && serving.has(v.name) ? Math.round((1000 * v.weight) / total) / 10 : 0,
        })) ?? [],
      strategy: spec?.policy.strategy,
      policy: spec?.policy,
      instances: views,
      recent,
      retention: {
        transitionsPerEngine: HISTORY_PER_ENGINE,
        transitionsFrom: history.length >= HISTORY_PER_ENGINE ? history[0].at : null,
      },
    };
  }

  /** The newest version committed at or before `atMs` (binary search over the log; 0: none). */
  private async versionAt(atMs: number): Promise<number> {
    let lo = 0;
    let hi = this.store.version();
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2);
      const [record] = await this.store.changes(mid, mid);
      if (record !== undefined && record.at <= atMs) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /**
   * The engine's spec in force at `version` (the last put or delete of it at or before), and the
   * changes of it made since `sinceMs`, reading the log backwards a page at a time.
   */
  private async specAt(
    engine: string,
    version: number,
    sinceMs: number,
  ): Promise<{ spec: EngineSpec | undefined; changes: ChangeRecord[] }> {
    const changes: ChangeRecord[] = [];
    let spec: EngineSpec | undefined;
    let decided = false;
    for (let hi = version; hi >= 1 && !(decided && changes.length > 0 && hi < 1);) {
      const lo = Math.max(1, hi - 499);
      const page = await this.store.changes(lo, hi);
      for (let i = page.length - 1; i >= 0; i--) {
        const record = page[i];
        const op = [...record.ops].reverse().find((o) => o.kind === ENGINE_KIND && o.name === engine);
        if (op === undefined) continue;
        if (record.at >= sinceMs) changes.unshift(record);
        if (!decided) {
          decided = true;
          if (op.op === 'put') {
            const parsed = fromDocument(op.value, record.version);
            if (parsed.ok) spec = parsed.value;
          }
        }
        if (record.at < sinceMs) return { spec, changes };
      }
      if (decided && page.length > 0 && page[0].at < sinceMs) break;
      hi = lo - 1;
    }
    return { spec, changes };
  }
}
