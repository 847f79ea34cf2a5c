/** Every key the Redis store uses, under one prefix (NERVE_REDIS_PREFIX) so fleets and tests can share a Redis. */
export function redisKeys(prefix: string) {
  return {
    version: `${prefix}config:version`,
    values: `${prefix}config:values`,
    revisions: `${prefix}config:revisions`,
    changes: `${prefix}config:changes`,
    feed: `${prefix}config:feed`,
    leader: `${prefix}leader`,
    /** The store's identity: a generation id, set once, replaced only by an explicit reseed or restore. */
    generation: `${prefix}store:generation`,
    generationInfo: `${prefix}store:generation:info`,
    /** Set by replicas that found the store lost or changed their data (what they hold, why). */
    diverged: `${prefix}store:diverged`,
    /** Written (any value) so that a WAIT after it covers every write before it: see replication-wait.ts. */
    confirmMark: `${prefix}store:confirm-mark`,
    /** Idempotency records, one key each (with a TTL), by the hash of the client's key. */
    idempotencyPrefix: `${prefix}idempotency:`,
    epoch: `${prefix}leader:epoch`,
    sharedPrefix: `${prefix}shared:ns:`,
    sharedIndex: `${prefix}shared:index`,
    sharedSeq: `${prefix}shared:seq`,
    sharedFeed: `${prefix}shared:feed`,
  };
}

export type RedisKeys = ReturnType<typeof redisKeys>;
