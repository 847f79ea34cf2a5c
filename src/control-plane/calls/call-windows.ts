import type { InstanceLoad } from '../../../gen/nerve/report/v1/report';
import type { ReportReceived } from '../kernel/events';
import { CallAccumulator, type CallStats, NO_CALLS } from './call-accumulator';

/** What an instance last said of its own load (ORCA), as the newest report carried it. */
export interface InstanceResources {
  readonly cpuUtilization: number;
  readonly memUtilization: number;
  readonly utilization: Readonly<Record<string, number>>;
  readonly atMs: number;
}

interface NodeGauges {
  inFlight: number;
  ejected: boolean;
  atMs: number;
}

/** One instance: calls in time slots (a ring), the newest gauges per reporting node, its ORCA figures. */
class InstanceWindow {
  readonly slots: { index: number; calls: CallAccumulator }[] = [];
  readonly nodes = new Map<string, NodeGauges>();
  resources: InstanceResources | undefined;
  /** When the first calls it covers began (its first report's start). */
  firstMs = Infinity;
  lastMs = 0;
}

/**
 * Calls of every instance over a sliding window (default 60 s, in 5 s slots), from the reports of every
 * router and LRS client the fleet has (each replica hears all of them). Memory is bounded by
 * instances × slots; an instance nobody reported for a whole window is dropped.
 */
export class CallWindows {
  private readonly instances = new Map<string, InstanceWindow>();

  constructor(
    readonly windowMs = 60_000,
    private readonly slotMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  record(report: ReportReceived): void {
    const node = `${report.source}:${report.nodeId}`;
    for (const load of report.loads) this.add(node, report, load);
  }

  private add(node: string, report: ReportReceived, load: InstanceLoad): void {
    const key = `${load.engine}/${load.instanceId}`;
    let w = this.instances.get(key);
    if (!w) this.instances.set(key, (w = new InstanceWindow()));
    const at = report.atMs;
    w.firstMs = Math.min(w.firstMs, at - report.intervalMs);
    w.lastMs = Math.max(w.lastMs, at);
    w.nodes.set(node, { inFlight: load.inFlight, ejected: load.ejected, atMs: at });
    if (load.orcaAtMs > 0 && load.orcaAtMs >= (w.resources?.atMs ?? 0))
      w.resources = {
        cpuUtilization: load.cpuUtilization,
        memUtilization: load.memUtilization,
        utilization: load.utilization,
        atMs: load.orcaAtMs,
      };
    if (load.requests === 0) return;
    const index = Math.floor(at / this.slotMs);
    let slot = w.slots[w.slots.length - 1];
    if (!slot || slot.index !== index) {
      w.slots.push((slot = { index, calls: new CallAccumulator() }));
      const oldest = Math.floor((at - this.windowMs) / this.slotMs);
      while (w.slots.length > 0 && w.slots[0].index <= oldest) w.slots.shift();
    }
    slot.calls.add(load);
  }

  /** Calls of one instance over the window (merged into `into` when given). */
  calls(engine: string, instanceId: string, into = new CallAccumulator()): CallAccumulator {
    const w = this.instances.get(`${engine}/${instanceId}`);
    if (!w) return into;
    const oldest = Math.floor((this.now() - this.windowMs) / this.slotMs);
    for (const s of w.slots) if (s.index > oldest) into.merge(s.calls);
    return into;
  }

  /** Calls of one instance in the slots that start within [fromMs, toMs): a history tick. */
  callsBetween(
    engine: string,
    instanceId: string,
    fromMs: number,
    toMs: number,
    into = new CallAccumulator(),
  ): CallAccumulator {
    const w = this.instances.get(`${engine}/${instanceId}`);
    if (!w) return into;
    const first = Math.ceil(fromMs / this.slotMs);
    const end = Math.ceil(toMs / this.slotMs);
    for (const s of w.slots) if (s.index >= first && s.index < end) into.merge(s.calls);
    return into;
  }

  /** Calls in flight now: the newest figure of each node that reported within `freshMs`. */
  inFlight(engine: string, instanceId: string, freshMs = 10_000): number {
    let n = 0;
    for (const g of this.freshNodes(engine, instanceId, freshMs)) n += g.inFlight;
    return n;
  }

  /** Routers that had the instance ejected in their last report (within `freshMs`). */
  ejectedBy(engine: string, instanceId: string, freshMs = 10_000): number {
    let n = 0;
    for (const g of this.freshNodes(engine, instanceId, freshMs)) if (g.ejected) n++;
    return n;
  }

  /** The newest gauges of each node that reported the instance within `freshMs`. */
  private *freshNodes(engine: string, instanceId: string, freshMs: number): Iterable<NodeGauges> {
    const w = this.instances.get(`${engine}/${instanceId}`);
    if (!w) return;
    const oldest = this.now() - freshMs;
    for (const g of w.nodes.values()) if (g.atMs >= oldest) yield g;
  }

  resources(engine: string, instanceId: string): InstanceResources | undefined {
    return this.instances.get(`${engine}/${instanceId}`)?.resources;
  }

  /** The seconds the window covers for these instances: the window, or less while they are new. */
  seconds(keys: readonly (readonly [string, string])[]): number {
    const now = this.now();
    let first = Infinity;
    for (const [engine, id] of keys)
      first = Math.min(first, this.instances.get(`${engine}/${id}`)?.firstMs ?? Infinity);
    if (first === Infinity) return this.windowMs / 1000;
    return Math.max(1, Math.min(this.windowMs, now - first)) / 1000;
  }

  stats(engine: string, instanceId: string): CallStats {
    // An instance no router reported on (most of a fleet, most of the time) has nothing to add up:
    // /health asks this for every instance, and an accumulator holds a histogram.
    if (!this.instances.has(`${engine}/${instanceId}`)) return NO_CALLS;
    return this.calls(engine, instanceId).stats(
      this.seconds([[engine, instanceId]]),
      this.inFlight(engine, instanceId),
    );
  }

  /** Drops instances nobody reported for a whole window. */
  prune(): void {
    const oldest = this.now() - this.windowMs;
    for (const [key, w] of this.instances) if (w.lastMs < oldest) this.instances.delete(key);
  }

  get size(): number {
    return this.instances.size;
  }
}
