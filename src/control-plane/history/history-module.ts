import type { EngineSpec } from '../../model/engine';
import { COARSE, downsample, FINE, HISTORY_METRICS, METRIC_COUNT } from '../../model/history/series-ring';
import type { Logger } from '../../observability/logger';
import type { HistoryStore, HistoryWrite } from '../../store/history-store';
import { CallAccumulator } from '../calls/call-accumulator';
import type { CallWindows } from '../calls/call-windows';
import type { EventBus } from '../kernel/events';
import type { LeaderElection } from '../leader/leader-election';
import { Disposables, type Module } from '../kernel/module';

/** Reports arrive every couple of seconds: a tick is sampled this long after it ends. */
const GRACE_MS = 2_500;
/** CPU and memory older than this are not history (the instance stopped reporting). */
const RESOURCES_FRESH_MS = 30_000;
const FINE_PER_COARSE = COARSE.stepMs / FINE.stepMs;

/**
 * Keeps the fleet's history (singleton work, on the leader): every 10 s, each engine's and instance's rps,
 * error rate, p50/p95/p99, calls in flight, CPU and memory of the 10 s just ended go to the history
 * store; every minute, the minute's six points are downsampled into the 1 min ring. Every replica
 * reads the same store, so all answer the same.
 */
export class HistoryModule implements Module {
  readonly name = 'history';
  private readonly disposables = new Disposables();
  private timer: NodeJS.Timeout | undefined;
  /** Ticks written by this replica (figures and tests). */
  ticks = 0;

  constructor(
    private readonly history: HistoryStore,
    private readonly engines: () => readonly EngineSpec[],
    private readonly windows: CallWindows,
    private readonly leader: Pick<LeaderElection, 'leading'>,
    private readonly bus: EventBus,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    this.disposables.add(this.bus.on('leader.changed', () => this.schedule()));
    this.schedule();
  }

  stop(): void {
    this.disposables.dispose();
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (!this.leader.leading) return;
    const now = this.now();
    const next = (Math.floor(now / FINE.stepMs) + 1) * FINE.stepMs + GRACE_MS;
    this.timer = setTimeout(() => {
      void this.sample(next - GRACE_MS)
        .catch((err) => this.logger.warn('history not kept', { error: String(err) }))
        .finally(() => this.schedule());
    }, next - now);
    this.timer.unref();
  }

  /**
   * Samples the 10 s that ended at `endMs` (a multiple of 10 s) and, when it closes a minute, that
   * minute. Public so tests drive it on a fake clock.
   */
  async sample(endMs: number): Promise<HistoryWrite[]> {
    const tick = endMs / FINE.stepMs - 1;
    const writes: HistoryWrite[] = [];
    for (const spec of this.engines()) {
      const engineCalls = new CallAccumulator();
      let engineInFlight = 0;
      let cpu = 0,
        mem = 0,
        reporting = 0;
      for (const i of spec.instances) {
        const calls = this.windows.callsBetween(spec.name, i.id, endMs - FINE.stepMs, endMs);
        const inFlight = this.windows.inFlight(spec.name, i.id);
        engineCalls.merge(calls);
        engineInFlight += inFlight;
        const r = this.windows.resources(spec.name, i.id);
        const fresh = r && endMs - r.atMs <= RESOURCES_FRESH_MS ? r : undefined;
        if (fresh) {
          cpu += fresh.cpuUtilization;
          mem += fresh.memUtilization;
          reporting++;
        }
        writes.push({
          resolution: FINE,
          entity: `${spec.name}/${i.id}`,
          tick,
          values: pointOf(calls, inFlight, fresh?.cpuUtilization ?? NaN, fresh?.memUtilization ?? NaN),
        });
      }
      // An engine's CPU and memory: the mean over its instances that report them.
      writes.push({
        resolution: FINE,
        entity: spec.name,
        tick,
        values: pointOf(
          engineCalls,
          engineInFlight,
          reporting ? cpu / reporting : NaN,
          reporting ? mem / reporting : NaN,
        ),
      });
    }
    await this.history.write(writes);
    this.ticks++;
    if ((tick + 1) % FINE_PER_COARSE === 0)
      await this.downsampleMinute((tick + 1) / FINE_PER_COARSE - 1, writes);
    return writes;
  }

  /** The minute's 1 min point of every entity written this tick, from its 10 s points. */
  private async downsampleMinute(minute: number, written: readonly HistoryWrite[]): Promise<void> {
    const first = minute * FINE_PER_COARSE;
    const coarse: HistoryWrite[] = [];
    for (const w of written) {
      const points = await this.history.read(FINE, w.entity, first, first + FINE_PER_COARSE - 1);
      if (points.length > 0)
        coarse.push({ resolution: COARSE, entity: w.entity, tick: minute, values: downsample(points) });
    }
    await this.history.write(coarse);
  }
}

function pointOf(calls: CallAccumulator, inFlight: number, cpu: number, mem: number): Float32Array {
  const stats = calls.stats(FINE.stepMs / 1000, inFlight);
  const values = new Float32Array(METRIC_COUNT);
  const set = (metric: (typeof HISTORY_METRICS)[number], v: number) =>
    (values[HISTORY_METRICS.indexOf(metric)] = v);
  set('rps', stats.rps);
  set('errorRate', stats.errorRate);
  // No calls, no latency: a gap rather than a zero that would read as "fast".
  set('p50Ms', stats.requests ? stats.p50Ms : NaN);
  set('p95Ms', stats.requests ? stats.p95Ms : NaN);
  set('p99Ms', stats.requests ? stats.p99Ms : NaN);
  set('inFlight', inFlight);
  set('cpu', cpu);
  set('memory', mem);
  return values;
}
