import type { ChangeRecord } from '../../model/config';

/**
 * Records a replica read from the change feed but may not apply yet: with NERVE_REDIS_MIN_REPLICAS > 0 a
 * change counts only once enough Redis replicas hold it (replication-wait.ts), and a confirmation
 * covers every version up to its own (replication is ordered). Pure: the follower feeds it records and
 * confirmations and applies what it releases.
 */
export class ConfirmationGate {
  /**
   * Waiting records by version. A later record of the same version replaces one: after a failover the
   * new primary reuses the versions of changes the old one never confirmed.
   */
  private readonly waiting = new Map<number, ChangeRecord>();
  /** The highest version a confirmation vouched for. */
  private confirmedUpTo = 0;
  /** When the oldest record still waiting arrived (0: none waits). */
  private since = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /** How many records wait for a confirmation. */
  get size(): number {
    return this.waiting.size;
  }

  /** How long the oldest waiting record has waited (0: none waits). */
  waitedMs(): number {
    return this.since === 0 ? 0 : this.now() - this.since;
  }

  hold(record: ChangeRecord): void {
    this.waiting.set(record.version, record);
    if (this.since === 0) this.since = this.now();
  }

  /** Every change up to `version` is confirmed (0: nothing new, only release what may go). */
  confirm(version: number): void {
    if (version > this.confirmedUpTo) this.confirmedUpTo = version;
  }

  /**
   * The records that may be applied now on top of `applied`, in order. `gap` is true when a confirmed
   * version is missing (the replica must reload); records at or below `applied` are dropped.
   */
  release(applied: number): { records: ChangeRecord[]; gap: boolean } {
    for (const v of this.waiting.keys()) if (v <= applied) this.waiting.delete(v);
    const records: ChangeRecord[] = [];
    let next = applied + 1;
    for (; next <= this.confirmedUpTo; next++) {
      const record = this.waiting.get(next);
      if (record === undefined) break;
      this.waiting.delete(next);
      records.push(record);
    }
    if (records.length > 0) this.since = this.waiting.size === 0 ? 0 : this.now();
    return { records, gap: next <= this.confirmedUpTo };
  }

  /** A load replaced what this replica holds: nothing read before it waits any more. */
  clear(): void {
    this.waiting.clear();
    this.since = 0;
  }
}
