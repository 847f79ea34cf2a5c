import type { EngineSpec } from '../../model/engine';
import type { DriverName } from '../../model/runtime';
import type { EventBus } from '../kernel/events';
import { Disposables, type Module } from '../kernel/module';
import type { InstanceOp, RuntimeDriver } from './driver';
import { createDrivers } from './driver-registry';
import type { FleetContext } from './fleet-context';
import { SharedNamespace } from '../../store/shared-namespace';

/** Shared namespace of operators' instance operations, taken by the leader: field `engine/instance`. */
export const COMMANDS_NS = new SharedNamespace<InstanceCommand>(
  'fleet-commands',
  'the replica that took the operation; the leader clears it',
);

export interface InstanceCommand {
  readonly op: InstanceOp;
  readonly at: string;
  readonly by: string;
}

const RECONCILE_MS = 1_000;
const SAMPLE_MS = 5_000;

/**
 * Runs the engines' drivers on the leader: every engine goes to the driver its runtime names, on each
 * change and every second (a missed event cannot leave the fleet wrong for long); an engine deleted or
 * moved to another driver is released by the one that ran it. Operators' instance operations arrive
 * through the store (any replica takes them), so they reach the leader wherever they were made.
 */
export class Supervisor implements Module {
  readonly name = 'supervisor';
  readonly drivers: Map<DriverName, RuntimeDriver>;
  private readonly disposables = new Disposables();
  private readonly driverOf = new Map<string, DriverName>();
  private leading = false;

  constructor(
    private readonly ctx: FleetContext,
    private readonly bus: EventBus,
    /** Stop managed processes when the control plane stops (one replica) or leave them to the next leader. */
    private readonly stopProcessesOnStop: boolean,
  ) {
    this.drivers = createDrivers(ctx);
  }

  start(): void {
    this.disposables.add(this.bus.on('leader.changed', (l) => void this.onLeader(l.leading)));
    this.disposables.add(
      this.bus.on('engine.changed', (e) => {
        if (e.kind === 'put') this.apply(e.spec);
        else this.drop(e.name);
      }),
    );
    this.disposables.add(
      this.ctx.store.watchShared((c) => {
        if (c.ns === COMMANDS_NS.name && c.value !== undefined) this.takeCommands();
      }),
    );
    const tick = setInterval(() => {
      if (!this.leading) return;
      for (const spec of this.ctx.engines.listNow()) this.apply(spec);
    }, RECONCILE_MS);
    const sample = setInterval(() => {
      if (this.leading) for (const d of this.drivers.values()) d.sample();
    }, SAMPLE_MS);
    tick.unref();
    sample.unref();
    this.disposables.add(() => clearInterval(tick));
    this.disposables.add(() => clearInterval(sample));
    if (this.ctx.leader.leading) void this.onLeader(true);
  }

  async stop(): Promise<void> {
    this.disposables.dispose();
    this.leading = false;
    for (const d of this.drivers.values()) await d.shutdown(this.stopProcessesOnStop);
  }

  driverFor(spec: EngineSpec): RuntimeDriver {
    return this.drivers.get(spec.runtime?.driver ?? 'static')!;
  }

  private async onLeader(leading: boolean): Promise<void> {
    if (leading === this.leading) return;
    this.leading = leading;
    if (!leading) {
      for (const d of this.drivers.values()) d.follow();
      return;
    }
    const engines = this.ctx.engines.listNow();
    for (const spec of engines) this.driverOf.set(spec.name, spec.runtime?.driver ?? 'static');
    for (const d of this.drivers.values()) await d.lead(engines.filter((s) => this.driverFor(s) === d));
    this.takeCommands();
  }

  private apply(spec: EngineSpec): void {
    const name: DriverName = spec.runtime?.driver ?? 'static';
    const before = this.driverOf.get(spec.name);
    this.driverOf.set(spec.name, name);
    if (!this.leading) return;
    if (before && before !== name) void this.drivers.get(before)!.release(spec.name);
    this.drivers.get(name)!.reconcile(spec);
  }

  private drop(engine: string): void {
    const before = this.driverOf.get(engine);
    this.driverOf.delete(engine);
    if (this.leading && before) void this.drivers.get(before)!.release(engine);
  }

  private takeCommands(): void {
    const fence = this.ctx.leader.fence;
    if (!this.leading || !fence) return;
    const commands = COMMANDS_NS.entries(this.ctx.store);
    if (commands.length === 0) return;
    for (const [field, value] of commands) {
      const slash = field.indexOf('/');
      const engine = field.slice(0, slash);
      const spec = this.ctx.engines.getNow(engine);
      const command = value;
      if (spec) this.driverFor(spec).operate(engine, field.slice(slash + 1), command.op);
    }
    void COMMANDS_NS.put(
      this.ctx.store,
      commands.map(([field]) => [field, undefined] as const),
      fence,
    ).catch((err: unknown) =>
      this.ctx.logger.warn('could not clear instance operations', { error: String(err) }),
    );
  }
}
