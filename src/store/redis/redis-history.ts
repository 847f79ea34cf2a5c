import type { Redis } from 'ioredis';
import {
  decodeRing,
  encodeSlot,
  type HistoryPoint,
  RESOLUTIONS,
  type Resolution,
  SLOT_BYTES,
} from '../../model/history/series-ring';
import type { HistoryStore, HistoryWrite } from '../history-store';

/**
 * History rings in Redis: one string per entity and resolution, a slot per tick written in place with
 * SETRANGE (a leader's tick is one pipelined round trip), read whole with GET. A ring is at most
 * 1,440 × 36 bytes. Rings of entities no longer written expire after a day and a bit.
 */
export class RedisHistoryStore implements HistoryStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(resolution: Resolution, entity: string): string {
    return `${this.prefix}history:${resolution.name}:${entity}`;
  }

  async write(points: readonly HistoryWrite[]): Promise<void> {
    if (points.length === 0) return;
    const pipeline = this.redis.pipeline();
    const expireSeconds =
      Math.ceil(
        (RESOLUTIONS[RESOLUTIONS.length - 1].stepMs * RESOLUTIONS[RESOLUTIONS.length - 1].slots) / 1000,
      ) + 3_600;
    for (const p of points) {
      const key = this.key(p.resolution, p.entity);
      pipeline.setrange(key, (p.tick % p.resolution.slots) * SLOT_BYTES, encodeSlot(p.tick, p.values));
      pipeline.expire(key, expireSeconds);
    }
    const results = await pipeline.exec();
    const failed = results?.find(([err]) => err);
    if (failed) throw failed[0];
  }

  async read(
    resolution: Resolution,
    entity: string,
    fromTick: number,
    toTick: number,
  ): Promise<HistoryPoint[]> {
    const bytes = await this.redis.getBuffer(this.key(resolution, entity));
    return bytes ? decodeRing(bytes, resolution.slots, fromTick, toTick) : [];
  }
}
