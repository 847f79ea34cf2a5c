import type { EventBus } from '../kernel/events';
import { Disposables, type Module } from '../kernel/module';
import type { CallWindows } from '../calls/call-windows';
import type { FleetMetrics } from './fleet-metrics';

/** Folds every report (this replica's and the others') into the call windows and the fleet's metrics. */
export class MetricsModule implements Module {
  readonly name = 'metrics';
  private readonly disposables = new Disposables();

  constructor(
    private readonly bus: EventBus,
    private readonly windows: CallWindows,
    private readonly fleet: FleetMetrics,
  ) {}

  start(): void {
    this.disposables.add(
      this.bus.on('report.received', (r) => {
        this.windows.record(r);
        this.fleet.onReport(r);
      }),
    );
    const prune = setInterval(() => this.windows.prune(), this.windows.windowMs).unref();
    this.disposables.add(() => clearInterval(prune));
  }

  stop(): void {
    this.disposables.dispose();
  }
}
