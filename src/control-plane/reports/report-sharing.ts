import type { Logger } from '../../observability/logger';
import type { ConfigStore } from '../../store/config-store';
import type { EventBus, ReportReceived } from '../kernel/events';
import { Disposables, type Module } from '../kernel/module';
import { SharedNamespace } from '../../store/shared-namespace';

/** Shared namespace of each replica's latest reports: replica id → {at, reports}. */
export const REPORTS_NS = new SharedNamespace<Shared>('reports', 'each replica, its own field');

interface Shared {
  readonly at: number;
  readonly reports: ReportReceived[];
}

/**
 * Makes every replica hear every router: the reports this replica's routers and LRS clients send are
 * shared (the newest per node, at most every `shareMs`), and the other replicas' are emitted here as
 * `report.received`, so loads and circuit states aggregate across the whole fleet.
 */
export class ReportSharing implements Module {
  readonly name = 'report sharing';
  private readonly latest = new Map<string, { report: ReportReceived; at: number }>();
  /** The newest report seq heard per (replica, node): a report shared again is not emitted again. */
  private readonly heard = new Map<string, number>();
  private readonly disposables = new Disposables();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ConfigStore,
    private readonly bus: EventBus,
    private readonly replicaId: string,
    private readonly logger: Logger,
    private readonly staleAfterMs: number,
    private readonly shareMs = 250,
  ) {}

  start(): void {
    this.disposables.add(
      this.bus.on('report.received', (r) => {
        if (r.replica !== this.replicaId) return;
        this.latest.set(`${r.source}:${r.nodeId}`, { report: r, at: Date.now() });
        this.timer ??= setTimeout(() => void this.share(), this.shareMs);
      }),
    );
    this.disposables.add(
      this.store.watchShared((c) => {
        const shared = REPORTS_NS.changed(c)?.value;
        if (!shared || c.field === this.replicaId) return;
        if (Date.now() - shared.at > this.staleAfterMs) return;
        for (const report of shared.reports) {
          // Every share carries the newest report of each node again: emit each report once, since
          // windows and counters add up deltas.
          const key = `${c.field}|${report.source}:${report.nodeId}`;
          if ((this.heard.get(key) ?? 0) >= report.seq) continue;
          this.heard.set(key, report.seq);
          this.bus.emit('report.received', { ...report, replica: c.field });
        }
      }),
    );
  }

  async stop(): Promise<void> {
    this.disposables.dispose();
    clearTimeout(this.timer);
    await REPORTS_NS.put(this.store, [[this.replicaId, undefined]]).catch(() => undefined);
  }

  private async share(): Promise<void> {
    this.timer = undefined;
    const now = Date.now();
    for (const [key, { at }] of this.latest) if (now - at > this.staleAfterMs) this.latest.delete(key);
    const value: Shared = { at: now, reports: [...this.latest.values()].map((e) => e.report) };
    // Replicas that went away without cleaning up: their entries are dropped by whoever notices.
    const stale = REPORTS_NS.entries(this.store)
      .filter(
        ([id, v]) => id !== this.replicaId && now - ((v as { at?: number }).at ?? 0) > 10 * this.staleAfterMs,
      )
      .map(([id]) => [id, undefined] as const);
    try {
      await REPORTS_NS.put(this.store, [[this.replicaId, value], ...stale]);
    } catch (err) {
      this.logger.debug('reports not shared', { error: String(err) });
    }
  }
}
