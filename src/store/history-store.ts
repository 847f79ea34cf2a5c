import { type HistoryPoint, type Resolution, SeriesRing } from '../model/history/series-ring';

/** One point to keep: an entity (`engine` or `engine/instance`) at a resolution's tick. */
export interface HistoryWrite {
  readonly resolution: Resolution;
  readonly entity: string;
  readonly tick: number;
  readonly values: ArrayLike<number>;
}

/**
 * Where metric history is kept: fixed rings per entity and resolution (model/history/series-ring.ts).
 * In memory for one process; in Redis with replicas, so every replica answers the same and a new leader
 * goes on writing where the last one stopped. Writes come from the leader only.
 */
export interface HistoryStore {
  write(points: readonly HistoryWrite[]): Promise<void>;
  /** Points of ticks from..to (inclusive) of one entity, oldest first. */
  read(resolution: Resolution, entity: string, fromTick: number, toTick: number): Promise<HistoryPoint[]>;
  /** Removes an entity's rings (an engine or instance no longer configured). */
  forget(entities: readonly string[]): Promise<void>;
}

export class MemoryHistoryStore implements HistoryStore {
  private readonly rings = new Map<string, SeriesRing>();

  async write(points: readonly HistoryWrite[]): Promise<void> {
    for (const p of points) {
      const key = `${p.resolution.name}|${p.entity}`;
      let ring = this.rings.get(key);
      if (!ring) this.rings.set(key, (ring = new SeriesRing(p.resolution.slots)));
      ring.put(p.tick, p.values);
    }
  }

  async read(
    resolution: Resolution,
    entity: string,
    fromTick: number,
    toTick: number,
  ): Promise<HistoryPoint[]> {
    return this.rings.get(`${resolution.name}|${entity}`)?.read(fromTick, toTick) ?? [];
  }

  async forget(entities: readonly string[]): Promise<void> {
    for (const key of [...this.rings.keys()])
      if (entities.includes(key.slice(key.indexOf('|') + 1))) this.rings.delete(key);
  }

  /** Rings held (memory figures). */
  get size(): number {
    return this.rings.size;
  }
}
