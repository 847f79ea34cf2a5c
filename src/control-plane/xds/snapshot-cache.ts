import { EMPTY_SNAPSHOT, type Snapshot } from '../../model/snapshot';

export type SnapshotListener = (snapshot: Snapshot) => void;

/**
 * Holds the snapshot being served. The xDS server depends on this watcher interface, never the reverse:
 * whoever builds snapshots publishes here and every stream hears about it.
 */
export class SnapshotCache {
  private current: Snapshot = EMPTY_SNAPSHOT;
  private readonly listeners = new Set<SnapshotListener>();

  get snapshot(): Snapshot {
    return this.current;
  }

  /** Publishes a snapshot; publishing the one already served is a no-op (push only on change). */
  publish(snapshot: Snapshot): void {
    if (snapshot === this.current) return;
    this.current = snapshot;
    for (const listener of this.listeners) listener(snapshot);
  }

  watch(listener: SnapshotListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
