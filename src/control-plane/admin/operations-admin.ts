import { z } from 'zod';
import { DEFAULT_FEATURES, type Features } from '../../config/features';
import { LOG_LEVELS, logLevels } from '../../observability/log-levels';
import { Profiler, ProfilerBusyError } from '../../observability/profiler';
import type { AdminContext, Audit } from '../commands/admin-context';
import { NerveError } from '../../model/errors';
import { parseInput } from '../commands/parse-input';

export const logLevelSchema = z.strictObject({
  level: z.enum(LOG_LEVELS),
  /** A component (control-plane, api, …); absent: every one. */
  component: z.string().min(1).optional(),
});

/** CPU profiles last 10 s unless asked otherwise: long enough for a few thousand samples at 1 ms. */
export const DEFAULT_PROFILE_MS = 10_000;
const MAX_PROFILE_MS = 60_000;

/**
 * What an operator does to the running process rather than to the fleet: log levels (this replica's
 * loggers; each replica is set on its own), CPU profiles and heap snapshots (node:inspector), and the
 * feature flags it started with. REST and admin gRPC both call this; their route tables give viewer the
 * reads and admin the rest.
 */
export class OperationsAdmin {
  private readonly profiler = new Profiler();

  constructor(
    private readonly features: Features = DEFAULT_FEATURES,
    private readonly audit: Audit,
  ) {}

  logLevels(): Record<string, string> {
    return logLevels.levels();
  }

  setLogLevel(input: unknown, ctx: AdminContext): Record<string, string> {
    const { level, component } = parseInput(logLevelSchema, input, 'log level');
    let levels: Record<string, string>;
    try {
      levels = logLevels.set(level, component);
    } catch (err) {
      throw new NerveError('NOT_FOUND', (err as Error).message);
    }
    this.audit(ctx, 'set log level', { level, component: component ?? '(all)' });
    return levels;
  }

  /** Milliseconds from a query or request field: whole, 100 to 60000; absent or 0: the default. */
  static profileMs(raw: unknown): number {
    if (raw === undefined || raw === '' || raw === 0) return DEFAULT_PROFILE_MS;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 100 || n > MAX_PROFILE_MS)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `durationMs must be a whole number of milliseconds from 100 to ${MAX_PROFILE_MS}, got "${String(raw)}"`,
      );
    return n;
  }

  async cpuProfile(durationMs: number, ctx: AdminContext): Promise<string> {
    this.audit(ctx, 'cpu profile', { durationMs });
    return this.guard(() => this.profiler.cpuProfile(durationMs));
  }

  /** `confirm` must be true: a snapshot pauses the process for seconds, so it is never taken by accident. */
  async heapSnapshot(confirm: unknown, write: (chunk: string) => void, ctx: AdminContext): Promise<void> {
    if (confirm !== true && confirm !== 'true')
      throw new NerveError(
        'INVALID_ARGUMENT',
        'a heap snapshot pauses this replica for seconds and weighs about twice its heap: confirm with confirm=true',
      );
    this.audit(ctx, 'heap snapshot', {});
    await this.guard(() => this.profiler.heapSnapshot(write));
  }

  featureFlags(): Features {
    return this.features;
  }

  private async guard<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      if (err instanceof ProfilerBusyError) throw new NerveError('FAILED_PRECONDITION', err.message);
      throw err;
    }
  }
}
