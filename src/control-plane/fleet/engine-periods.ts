import type { EngineSpec } from '../../model/engine';
import type { FleetContext } from './fleet-context';

/**
 * Per-engine periodic work on the leader (autoscaling, closed-loop weights): each engine on its own
 * period, the first run one period after the engine is first seen (a new leader has no fresh reports
 * yet), one pass at a time, a failure logged and the next pass going on.
 */
export class EnginePeriods {
  private readonly dueAt = new Map<string, number>();
  private running = false;

  constructor(
    private readonly ctx: FleetContext,
    private readonly what: string,
    /** The engine's period, or undefined when it has none of this work. */
    private readonly periodOf: (spec: EngineSpec) => number | undefined,
    private readonly run: (spec: EngineSpec, fence: string, nowMs: number) => Promise<void>,
    /** An engine without the work (its policy removed): clear what it left. */
    private readonly idle: (spec: EngineSpec, fence: string) => Promise<void> = async () => undefined,
    /** An engine seen for the first time: its period starts now. */
    private readonly first: (spec: EngineSpec) => void = () => undefined,
  ) {}

  async pass(): Promise<void> {
    const fence = this.ctx.leader.fence;
    if (!fence || this.running) return;
    this.running = true;
    try {
      const now = Date.now();
      for (const spec of this.ctx.engines.listNow()) {
        const period = this.periodOf(spec);
        if (period === undefined) {
          this.dueAt.delete(spec.name);
          await this.idle(spec, fence);
          continue;
        }
        const due = this.dueAt.get(spec.name);
        if (due === undefined) {
          this.first(spec);
          this.dueAt.set(spec.name, now + period);
        } else if (now >= due) {
          this.dueAt.set(spec.name, now + period);
          await this.run(spec, fence, now);
        }
      }
    } catch (err) {
      this.ctx.logger.warn(`${this.what} failed`, { error: String(err) });
    } finally {
      this.running = false;
    }
  }
}
