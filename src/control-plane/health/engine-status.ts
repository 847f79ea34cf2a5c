import { holdStatus, type HeldStatus, type RollupStatus } from '../../model/health-rollup';

/** Default time a better engine status must hold before it is reported. */
export const DEFAULT_ENGINE_HOLD_MS = 30_000;

/**
 * Engines' statuses with hysteresis (model/health-rollup.ts `holdStatus`): fed every time health is
 * evaluated (reads, health changes, the feed's periodic health), it remembers per engine what it
 * reported and since when.
 */
export class EngineStatusTracker {
  private readonly held = new Map<string, HeldStatus>();

  constructor(
    readonly holdMs = DEFAULT_ENGINE_HOLD_MS,
    private readonly now: () => number = Date.now,
  ) {}

  observe(engine: string, raw: RollupStatus): HeldStatus {
    const next = holdStatus(this.held.get(engine), raw, this.now(), this.holdMs);
    this.held.set(engine, next);
    return next;
  }

  forget(engine: string): void {
    this.held.delete(engine);
  }
}
