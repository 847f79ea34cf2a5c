import type { FleetRetryBudget } from '../../../gen/nerve/discovery/v1/resources';
import type { Logger } from '../../observability/logger';
import type { ConfigStore } from '../../store/config-store';
import { SharedNamespace } from '../../store/shared-namespace';
import type { EngineCatalog } from '../config/engine-catalog';
import type { EventBus } from '../kernel/events';
import { Disposables, type Module } from '../kernel/module';
import type { LeaderElection } from '../leader/leader-election';
import { FleetRetryTally, type FleetRetrySummary, WINDOW_MS } from './fleet-retry-tally';

/** Shared namespace of fleet retry budgets, written by the leader: engine → FleetRetryBudget. */
export const RETRY_BUDGETS_NS = new SharedNamespace<FleetRetryBudget>(
  'retry-budgets',
  'the leader (fleet retry budget), fenced',
);

/** An engine's fleet retry budget as the leader shared it: what routers are sent with its circuits. */
export function fleetRetryBudget(store: ConfigStore, engine: string): FleetRetryBudget | undefined {
  const raw = RETRY_BUDGETS_NS.get(store, engine);
  return raw === undefined || raw === null || typeof raw !== 'object' ? undefined : raw;
}

/**
 * One retry budget per engine for the whole fleet. Every replica sums every router's calls and retries
 * (its own routers' reports and, shared, the other replicas'); the leader publishes per engine how many
 * routers call it and the fleet's call rate (moved by changes over 10 %, at most once a window: each
 * change is a push to every router); routers take their
 * share of the engine's budget from it (`router/resilience/retry-budget.ts`). Every replica serves what
 * the store holds, so all push the same bytes.
 */
export class RetryBudgetModule implements Module {
  readonly name = 'fleet retry budget';
  readonly tally = new FleetRetryTally();
  private readonly disposables = new Disposables();
  /** When this leader last published each engine's budget. */
  private readonly publishedAt = new Map<string, number>();

  constructor(
    private readonly store: ConfigStore,
    private readonly engines: EngineCatalog,
    private readonly bus: EventBus,
    private readonly leader: LeaderElection,
    private readonly logger: Logger,
    private readonly everyMs: number,
  ) {}

  start(): void {
    this.disposables.add(
      this.bus.on('report.received', (r) => {
        if (r.source === 'router' && r.engineCalls?.length)
          this.tally.record(r.nodeId, r.engineCalls, r.intervalMs, r.atMs);
      }),
    );
    this.disposables.add(
      this.store.watchShared((c) => {
        if (RETRY_BUDGETS_NS.changed(c)) this.bus.emit('circuits.changed', { engines: [c.field] });
      }),
    );
    const timer = setInterval(() => void this.publish(), this.everyMs).unref();
    this.disposables.add(() => clearInterval(timer));
  }

  stop(): void {
    this.disposables.dispose();
  }

  /** What the fleet did to the engine over the window (views, metrics). */
  summary(engine: string): FleetRetrySummary {
    return this.tally.summary(engine, Date.now());
  }

  /** The leader writes the engines whose budget differs from what the store holds. */
  async publish(): Promise<void> {
    const fence = this.leader.fence;
    if (!fence) return;
    const now = Date.now();
    const shared = RETRY_BUDGETS_NS.map(this.store);
    const fields: [string, FleetRetryBudget | undefined][] = [];
    const names = new Set(this.engines.listNow().map((s) => s.name));
    for (const name of names) {
      const current = shared.get(name) as FleetRetryBudget | undefined;
      const next = this.tally.budget(name, now, current);
      if (next === current) continue;
      // The rate moves at most once a window (each change is a push to every router); a router joining
      // or leaving is news at once.
      const rateOnly = next !== undefined && current !== undefined && next.routers === current.routers;
      if (rateOnly && now - (this.publishedAt.get(name) ?? 0) < WINDOW_MS) continue;
      this.publishedAt.set(name, now);
      fields.push([name, next]);
    }
    for (const name of shared.keys()) if (!names.has(name)) fields.push([name, undefined]);
    if (fields.length === 0) return;
    try {
      await RETRY_BUDGETS_NS.put(this.store, fields, fence);
    } catch (err) {
      this.logger.warn('fleet retry budgets not shared', { error: String(err) });
    }
  }
}
