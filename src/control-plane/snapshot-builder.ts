import { nextSnapshot } from '../model/snapshot';
import type { ConfigStore } from '../store/config-store';
import type { HealthLookup } from './resources/nerve-resources';
import { nerveResources } from './resources/nerve-resources';
import { envoyResources } from './resources/envoy';
import type { SnapshotCache } from './xds/snapshot-cache';

/**
 * Rebuilds the served snapshot from the store and health state. Requests are coalesced: a burst of
 * changes within one turn of the event loop, or during a rebuild, becomes one rebuild (and one push).
 */
export class SnapshotBuilder {
  private scheduled = false;
  private running: Promise<void> | undefined;
  private dirty = false;

  constructor(
    private readonly store: ConfigStore,
    private readonly cache: SnapshotCache,
    private readonly health: HealthLookup,
    private readonly onError: (err: unknown) => void,
  ) {}

  request(): void {
    if (this.running) {
      this.dirty = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      void this.rebuild();
    });
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
        try {
          const specs = await this.store.list();
          const content = new Map([
            ...nerveResources(specs, this.health),
            ...envoyResources(specs, this.health),
          ]);
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
