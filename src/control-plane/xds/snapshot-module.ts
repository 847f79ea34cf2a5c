import type { EventBus } from '../kernel/events';
import { Disposables, type Module } from '../kernel/module';
import type { SnapshotBuilder } from './snapshot-builder';

/**
 * Keeps the served snapshot current: what changes routing (an engine's spec, an instance's health, the
 * global circuits) requests a debounced rebuild; start publishes the first snapshot.
 */
export class SnapshotModule implements Module {
  readonly name = 'snapshot';
  private readonly disposables = new Disposables();

  constructor(
    private readonly builder: SnapshotBuilder,
    private readonly bus: EventBus,
  ) {}

  async start(): Promise<void> {
    const rebuild = () => this.builder.request();
    this.disposables.add(this.bus.on('engine.changed', rebuild));
    this.disposables.add(this.bus.on('health.changed', rebuild));
    this.disposables.add(this.bus.on('circuits.changed', rebuild));
    this.disposables.add(this.bus.on('leases.changed', rebuild));
    this.disposables.add(this.bus.on('weights.changed', rebuild));
    // A rollout's match rules and mirror share are routing too (unchanged ones push nothing).
    this.disposables.add(this.bus.on('rollout.changed', rebuild));
    await this.builder.rebuild();
  }

  stop(): void {
    this.disposables.dispose();
    this.builder.cancel();
  }
}
