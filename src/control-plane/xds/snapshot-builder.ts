import type { DebounceOptions } from '../context/plane-options';
import { danglingReferences, nextSnapshot } from '../../model/snapshot';
import type { EngineSpec } from '../../model/engine';
import type { CanaryLookup, CircuitLookup, HealthLookup } from '../resources/nerve-resources';
import { nerveResources } from '../resources/nerve-resources';
import { envoyResources } from '../resources/envoy';
import type { SnapshotCache } from './snapshot-cache';

export const DEFAULT_DEBOUNCE: DebounceOptions = { debounceMs: 20, maxDelayMs: 200 };

/**
 * Rebuilds the served snapshot from the store and health state. Changes are debounced (a burst becomes
 * one rebuild and one push, as Istio's 100 ms debounce) without ever delaying the first change of a
 * burst by more than `maxDelayMs`; changes arriving during a rebuild trigger one more.
 */
export class SnapshotBuilder {
  private timer: NodeJS.Timeout | undefined;
  private burstStartedAt = 0;
  private running: Promise<void> | undefined;
  private dirty = false;
  /** Rebuilds run so far (tests, metrics). */
  rebuilds = 0;

  constructor(
    private readonly engines: { list(): Promise<readonly EngineSpec[]> },
    private readonly cache: SnapshotCache,
    private readonly health: HealthLookup,
    private readonly onError: (err: unknown) => void,
    private readonly debounce: DebounceOptions = DEFAULT_DEBOUNCE,
    private readonly circuits?: CircuitLookup,
    private readonly canaries?: CanaryLookup,
  ) {}

  request(): void {
    const now = Date.now();
    if (this.timer === undefined) this.burstStartedAt = now;
    else clearTimeout(this.timer);
    const due = Math.min(now + this.debounce.debounceMs, this.burstStartedAt + this.debounce.maxDelayMs);
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        void this.rebuild();
      },
      Math.max(0, due - now),
    );
  }

  /** Stops pending rebuilds (shutdown). */
  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Rebuilds now and resolves once the snapshot is published. */
  async rebuild(): Promise<void> {
    if (this.running) {
      this.dirty = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.dirty = false;
        this.rebuilds++;
        try {
          const specs = await this.engines.list();
          const content = new Map([
            ...nerveResources(specs, this.health, this.circuits, this.canaries),
            ...envoyResources(specs, this.health, this.canaries),
          ]);
          // Checked before it is served: a client never sees a cluster whose endpoints do not exist.
          const dangling = danglingReferences(content);
          if (dangling.length > 0) throw new Error(`inconsistent snapshot: ${dangling.join('; ')}`);
          this.cache.publish(nextSnapshot(this.cache.snapshot, content));
        } catch (err) {
          this.onError(err); // the last good snapshot stays in place
        }
      } while (this.dirty);
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
  }
}
