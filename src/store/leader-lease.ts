/**
 * A lease for singleton work with a fencing token. `acquire` hands out a fence `holder:token` whose
 * token grows with every new holder; a store refuses fenced writes unless the fence is the current
 * holder's, so a leader paused past its lease cannot write once another has taken over (client-go's
 * election has no such check).
 */
export interface LeaderLease {
  /** The fence when holder now holds the lease (taken or already its own), else undefined. */
  acquire(holder: string, ttlMs: number): Promise<string | undefined>;
  /** Extends the lease; false when the fence is no longer the holder's. */
  renew(fence: string, ttlMs: number): Promise<boolean>;
  release(fence: string): Promise<void>;
  /** The current fence, or undefined when nobody holds the lease. */
  holder(): Promise<string | undefined>;
}

/** `replica-a:17` → its holder and token. */
export function parseFence(fence: string): { holder: string; token: number } {
  const at = fence.lastIndexOf(':');
  return { holder: fence.slice(0, at), token: Number(fence.slice(at + 1)) };
}
