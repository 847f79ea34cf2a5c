import type { EventBus } from '../kernel/events';
import { Disposables, type Module } from '../kernel/module';
import type { LoadStats } from './load-stats';

/** Folds every report (this replica's routers and LRS clients, and the other replicas') into LoadStats. */
export class LoadModule implements Module {
  readonly name = 'loads';
  private readonly disposables = new Disposables();

  constructor(
    readonly loads: LoadStats,
    private readonly bus: EventBus,
  ) {}

  start(): void {
    this.disposables.add(
      this.bus.on('report.received', (r) => {
        if (r.loads.length > 0) this.loads.record(r.nodeId, r.loads);
        for (const [engine, n] of Object.entries(r.dropped)) this.loads.recordDropped(r.nodeId, engine, n);
      }),
    );
  }

  stop(): void {
    this.disposables.dispose();
  }
}
