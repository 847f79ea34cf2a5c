import { type HistoryPoint, type Resolution, SeriesRing } from '../model/history/series-ring';

/** Rings not written for this long are dropped (Redis: their keys expire). */
const KEEP_UNWRITTEN_MS = 25 * 3_600_000;

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
}

/**
 * History in this process. Rings of entities no longer written (an engine or instance removed) are kept
 * for a day, for a look back at what happened to them, as Redis keeps them (EXPIRE), then dropped.
 */
export class MemoryHistoryStore implements HistoryStore {
  private readonly rings = new Map<string, { ring: SeriesRing; lastMs: number }>();
  private sweptMs = 0;

  constructor(private readonly now: () => number = Date.now) {}

  async write(points: readonly HistoryWrite[]): Promise<void> {
    const now = this.now();
    for (const p of points) {
      const key = `${p.resolution.name}|${p.entity}`;
      let entry = this.rings.get(key);
      if (!entry) this.rings.set(key, (entry = { ring: new SeriesRing(p.resolution.slots), lastMs: now }));
      entry.ring.put(p.tick, p.values);
      entry.lastMs = now;
    }
    if (now - this.sweptMs < KEEP_UNWRITTEN_MS / 24) return;
    this.sweptMs = now;
    for (const [key, entry] of this.rings) if (now - entry.lastMs > KEEP_UNWRITTEN_MS) this.rings.delete(key);
  }

  async read(
    resolution: Resolution,
    entity: string,
    fromTick: number,
    toTick: number,
  ): Promise<HistoryPoint[]> {
    return this.rings.get(`${resolution.name}|${entity}`)?.ring.read(fromTick, toTick) ?? [];
  }

  /** Rings held (memory figures). */
  get size(): number {
    return this.rings.size;
  }
}
