import { EMPTY_SNAPSHOT, type Snapshot } from '../../model/snapshot';

export type SnapshotListener = (snapshot: Snapshot) => void;

/**
 * What the xDS server serves from (go-control-plane's ConfigWatcher in spirit): the current snapshot
 * and a way to hear of the next. The xDS server depends on this interface, never the reverse: whoever
 * builds snapshots publishes here and every stream hears about it.
 */
export interface SnapshotCache {
  readonly snapshot: Snapshot;
  /** Publishes a snapshot; publishing the one already served is a no-op (push only on change). */
  publish(snapshot: Snapshot): void;
  watch(listener: SnapshotListener): () => void;
}

/** The snapshot cache of one process. */
export class InMemorySnapshotCache implements SnapshotCache {
  private current: Snapshot = EMPTY_SNAPSHOT;
  private readonly listeners = new Set<SnapshotListener>();

  get snapshot(): Snapshot {
    return this.current;
  }

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
