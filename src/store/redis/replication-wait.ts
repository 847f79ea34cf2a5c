import type Redis from 'ioredis';
import { StoreUnavailableError } from '../config-store';
import type { RedisKeys } from './keys';
import { LuaScript } from './lua';
import { CONFIRM_MARK } from './scripts';

const confirmMark = new LuaScript(CONFIRM_MARK);

/** What a client of a refused commit may do: the change may hold (no failover came) or not. */
const COMMIT_RETRY =
  "It may still hold; a retry is safe: with the same Idempotency-Key it is answered with the first attempt's version, with If-Match it conflicts if the first held";

/**
 * Redis replicates asynchronously: a write the primary acknowledged is lost if the primary dies before
 * a replica has it, and a Sentinel failover promotes that replica. A write Nerve acknowledges (a commit,
 * a leader's lease and its fence) waits until `minReplicas` replicas confirm it (`WAIT`, on the
 * connection that wrote: it counts that connection's writes), at most `waitMs`. With fewer, the
 * write is not acknowledged: it may survive (no failover came) or not, and the caller is told so.
 *
 * Control-plane replicas follow the store's change feed; with `minReplicas` > 0 they apply a change
 * only once it is confirmed, so that no replica serves (and no router receives) a change a failover can
 * still take back. Confirmation travels in the same feed: an entry `a` = version says every change up
 * to that version is held by enough replicas (replication is ordered: a later write confirmed means
 * every earlier one is). The committer writes it after its WAIT; a change whose committer could not
 * (its WAIT timed out, it died) is confirmed by any replica that waits for it (`confirmStore`).
 * 0 replicas: nothing waits and changes apply as they are read (one Redis, or a choice made knowingly).
 */
export class ReplicationWait {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    readonly minReplicas: number,
    readonly waitMs: number,
    private readonly feedLength: number,
  ) {}

  /** Whether changes wait for replicas before they count (and followers wait for confirmations). */
  get gated(): boolean {
    return this.minReplicas > 0;
  }

  /** How many replicas confirmed the connection's writes so far (0, unasked, when none are needed). */
  async confirmed(): Promise<number> {
    if (this.minReplicas === 0) return 0;
    return Number(await this.redis.call('WAIT', String(this.minReplicas), String(this.waitMs)));
  }

  /** True when enough replicas hold the connection's writes; connection errors reject. */
  async held(): Promise<boolean> {
    return this.minReplicas === 0 || (await this.confirmed()) >= this.minReplicas;
  }

  /**
   * Throws StoreUnavailableError, saying what a retry does (`retry`; by default a commit's), unless
   * enough replicas hold `what`.
   */
  async require(what: string, retry = COMMIT_RETRY): Promise<void> {
    if (this.minReplicas === 0) return;
    const n = await this.confirmed();
    if (n >= this.minReplicas) return;
    throw new StoreUnavailableError(
      `${what} reached the primary, but ${n} of the ${this.minReplicas} replicas it needs (NERVE_REDIS_MIN_REPLICAS) confirmed it within ${this.waitMs} ms: a failover now could lose it, so it is not acknowledged. ${retry}`,
    );
  }

  /** Tells the followers that every change up to `version` is confirmed (after a WAIT that said so). */
  async announce(version: number): Promise<void> {
    if (!this.gated) return;
    await this.redis.call(
      'XADD',
      this.keys.feed,
      'MAXLEN',
      '~',
      String(this.feedLength),
      '*',
      'a',
      String(version),
    );
  }

  /**
   * Confirms whatever the store holds now: a write, a WAIT that covers it and every write before it,
   * then the announcement. The version confirmed, or undefined when the replicas do not confirm it.
   */
  async confirmStore(): Promise<number | undefined> {
    if (!this.gated) return undefined;
    const k = this.keys;
    const version = Number(
      await confirmMark.run(this.redis, [k.version, k.confirmMark], [String(Date.now())]),
    );
    if (!(await this.held())) return undefined;
    await this.announce(version);
    return version;
  }
}
