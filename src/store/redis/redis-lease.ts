import type Redis from 'ioredis';
import type { LeaderLease } from '../leader-lease';
import type { RedisKeys } from './keys';
import type { ReplicationWait } from './replication-wait';
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
    /** Replicas that must hold a lease and its fence before it counts (none: it counts at once). */
    private readonly replication?: ReplicationWait,
  ) {}

  /**
   * A lease (and the fence's token increment) the replicas do not confirm is not taken: after a
   * failover the promoted replica could hand the same token to another holder. It rejects with
   * StoreUnavailableError; the key stays this holder's, so the next attempt takes it (same token) once
   * the replicas confirm.
   */
  async acquire(holder: string, ttlMs: number): Promise<string | undefined> {
    const fence = await acquire.run(this.redis, [this.keys.leader, this.keys.epoch], [holder, ttlMs]);
    if (typeof fence !== 'string') return undefined;
    await this.replication?.require(
      `the leader lease ${fence}`,
      'The lease is not taken; the next attempt takes it.',
    );
    return fence;
  }

  /**
   * False when the fence no longer holds. A renewal the replicas do not confirm rejects: the lease is
   * not extended, and the leader stops acting on its own clock when it runs out.
   */
  async renew(fence: string, ttlMs: number): Promise<boolean> {
    if ((await renew.run(this.redis, [this.keys.leader], [fence, ttlMs])) !== 1) return false;
    await this.replication?.require(`the renewal of ${fence}`, 'The lease is not extended.');
    return true;
  }

  async release(fence: string): Promise<void> {
    await release.run(this.redis, [this.keys.leader], [fence]);
  }

  async holder(): Promise<string | undefined> {
    return (await this.redis.get(this.keys.leader)) ?? undefined;
  }
}
