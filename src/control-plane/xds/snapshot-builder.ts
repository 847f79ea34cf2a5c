import type { DebounceOptions } from '../context/plane-options';
import { danglingReferences, nextSnapshot, type TtlContent } from '../../model/snapshot';
import { ENGINE_OVERRIDES_TYPE } from '../../protocol/type-urls';
import type { EngineSpec } from '../../model/engine';
import type { CanaryLookup, CircuitLookup, HealthLookup } from '../resources/nerve-resources';
import { nerveResources, nerveTtlResources } from '../resources/nerve-resources';
import { envoyResources } from '../resources/envoy';
import type { SnapshotCache } from './snapshot-cache';

export const DEFAULT_DEBOUNCE: DebounceOptions = { debounceMs: 20, maxDelayMs: 200 };

/**
 * How the listed engines become what is served, and what clients that support resource TTLs get: the
 * engine as served and as it is without runtime overrides, and the overrides' time to live.
 */
export interface EngineVariants {
  served(spec: EngineSpec): EngineSpec;
  base(spec: EngineSpec): EngineSpec;
  readonly overrideTtlMs: number;
}

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
    private readonly variants?: EngineVariants,
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
          const listed = await this.engines.list();
          const variants = this.variants;
          const specs = variants ? listed.map((s) => variants.served(s)) : listed;
          const content = new Map([
            ...nerveResources(specs, this.health, this.circuits, this.canaries),
            ...envoyResources(specs, this.health, this.canaries),
          ]);
          // Checked before it is served: a client never sees a cluster whose endpoints do not exist.
          const dangling = danglingReferences(content);
          if (dangling.length > 0) throw new Error(`inconsistent snapshot: ${dangling.join('; ')}`);
          const ttl: TtlContent | undefined = variants && {
            content: nerveTtlResources(
              listed.map((s, i) => ({ served: specs[i], base: variants.base(s) })),
              this.health,
              this.canaries,
            ),
            ttlMs: new Map([[ENGINE_OVERRIDES_TYPE, variants.overrideTtlMs]]),
          };
          this.cache.publish(nextSnapshot(this.cache.snapshot, content, ttl));
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
