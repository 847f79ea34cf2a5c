import type Redis from 'ioredis';
import type { LeaderLease } from '../leader-lease';
import type { RedisKeys } from './keys';
import { LuaScript } from './lua';
import { ACQUIRE, RELEASE, RENEW } from './scripts';

const acquire = new LuaScript(ACQUIRE);
const renew = new LuaScript(RENEW);
const release = new LuaScript(RELEASE);

/** The leader lease as one Redis key with a TTL; the fence's token is a counter that only grows. */
export class RedisLease implements LeaderLease {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async acquire(holder: string, ttlMs: number): Promise<string | undefined> {
    const fence = await acquire.run(this.redis, [this.keys.leader, this.keys.epoch], [holder, ttlMs]);
    return typeof fence === 'string' ? fence : undefined;
  }

  async renew(fence: string, ttlMs: number): Promise<boolean> {
    return (await renew.run(this.redis, [this.keys.leader], [fence, ttlMs])) === 1;
  }

  async release(fence: string): Promise<void> {
    await release.run(this.redis, [this.keys.leader], [fence]);
  }

  async holder(): Promise<string | undefined> {
    return (await this.redis.get(this.keys.leader)) ?? undefined;
  }
}
