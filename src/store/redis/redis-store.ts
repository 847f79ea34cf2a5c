import Redis from 'ioredis';
import {
  type ChangeRecord,
  type ConfigEntry,
  ConfigState,
  entryKey,
  type JsonValue,
  opsBetween,
} from '../../model/config';
import {
  type ChangeRequest,
  type ConfigStore,
  FencedError,
  RevisionConflictError,
  type SharedChange,
  type StoreStatus,
  StoreUnavailableError,
  VersionConflictError,
} from '../config-store';
import { Listeners } from '../listeners';
import { FeedFollower } from './feed-follower';
import { type RedisKeys, redisKeys } from './keys';
import { LuaScript } from './lua';
import { RedisLease } from './redis-lease';
import { RedisHistoryStore } from './redis-history';
import { loadConfig, loadShared, type SharedState, sharedChanges } from './loader';
import { COMMIT, PUT_SHARED } from './scripts';

const commit = new LuaScript(COMMIT);
const putShared = new LuaScript(PUT_SHARED);

export interface RedisStoreOptions {
  readonly url: string;
  /** Key prefix (NERVE_REDIS_PREFIX); default `nerve:`. */
  readonly prefix?: string;
  /** How many change records the feed keeps (approximately); replicas further behind reload. */
  readonly feedLength?: number;
  /** A command that gets no answer in this time fails (a half-open connection). */
  readonly commandTimeoutMs?: number;
  readonly onError?: (message: string, err: unknown) => void;
}

/**
 * The configuration in Redis, shared by every control-plane replica. Commits are one Lua script that
 * checks fence, version and revisions, writes the entries and appends the record to a stream; each
 * replica follows that stream from its last id on a connection of its own, applies records in version
 * order and reloads everything when it finds a gap (the stream was trimmed past it). Commands fail fast
 * while disconnected (no offline queue): writes are refused with StoreUnavailableError, reads answer
 * from the state this replica holds, and the follower catches up by itself when Redis is back.
 */
export class RedisStore implements ConfigStore {
  readonly lease: RedisLease;
  readonly history: RedisHistoryStore;
  readonly keys: RedisKeys;
  private readonly redis: Redis;
  private readonly follower: FeedFollower;
  private state = new ConfigState();
  private sharedState: SharedState = new Map();
  private sharedSeq = 0;
  private readonly changes$: Listeners<ChangeRecord>;
  private readonly shared$: Listeners<SharedChange>;
  private readonly status$: Listeners<StoreStatus>;
  private connected = false;
  private started = false;
  /** Why this replica does not follow the store although connected (e.g. the store lost its data). */
  private problem: string | undefined;
  private lastStatus: StoreStatus['state'] = 'unavailable';
  private readonly feedLength: number;
  private readonly onError: (message: string, err: unknown) => void;

  constructor(options: RedisStoreOptions) {
    this.keys = redisKeys(options.prefix ?? 'nerve:');
    this.feedLength = options.feedLength ?? 10_000;
    this.onError = options.onError ?? (() => undefined);
    const report = (err: unknown) => this.onError('store listener failed', err);
    this.changes$ = new Listeners(report);
    this.shared$ = new Listeners(report);
    this.status$ = new Listeners(report);
    const connection = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 2_000,
      connectTimeout: 2_000,
      lazyConnect: true,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
    };
    this.redis = new Redis(options.url, connection);
    this.redis.on('error', () => undefined); // every failure surfaces as a command error or 'close'
    this.redis.on('close', () => this.setConnected(false));
    this.redis.on('ready', () => this.setConnected(true));
    this.lease = new RedisLease(this.redis, this.keys);
    this.history = new RedisHistoryStore(this.redis, options.prefix ?? 'nerve:');
    this.follower = new FeedFollower(
      new Redis(options.url, { ...connection, commandTimeout: undefined }),
      this.redis,
      this.keys,
      {
        position: () => ({ version: this.state.version, sharedSeq: this.sharedSeq }),
        onRecord: (record) => this.applyRecord(record),
        onShared: (seq, change) => this.applyShared(seq, change),
        onGap: () => this.reload(),
        onStateChange: () => this.emitStatus(),
      },
    );
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.redis.connect().catch(() => undefined);
    if (this.connected) await this.reload().catch((err) => this.onError('initial load failed', err));
    await this.follower.start();
  }

  async close(): Promise<void> {
    this.follower.stop();
    this.redis.disconnect();
    this.changes$.clear();
    this.shared$.clear();
    this.status$.clear();
  }

  status(): StoreStatus {
    const reason = !this.connected
      ? 'Redis is not reachable'
      : (this.problem ??
        (this.follower.failing ? `the change feed fails: ${this.follower.failing}` : undefined));
    return {
      backend: 'redis',
      state: reason === undefined ? 'ok' : 'unavailable',
      reason,
      version: this.state.version,
      lagMs: this.follower.lagMs(),
    };
  }

  version(): number {
    return this.state.version;
  }

  list(kind?: string): ConfigEntry[] {
    return this.state.list(kind);
  }

  get(kind: string, name: string): ConfigEntry | undefined {
    return this.state.get(kind, name);
  }

  async commit(request: ChangeRequest): Promise<ChangeRecord> {
    this.ensureWritable();
    const args: (string | number)[] = [
      request.expectVersion ?? '',
      request.fence ?? '',
      this.feedLength,
      '',
      request.expect?.size ?? 0,
    ];
    for (const [key, revision] of request.expect ?? []) args.push(key, revision);
    args.push(request.ops.length);
    for (const op of request.ops)
      args.push(
        op.op === 'put' ? 'p' : 'd',
        entryKey(op.kind, op.name),
        op.op === 'put' ? JSON.stringify(op.value) : '',
      );
    const at = Date.now();
    args[3] = JSON.stringify({ at, actor: request.actor, summary: request.summary, ops: request.ops }).slice(
      1,
    );
    const k = this.keys;
    const reply = (await this.run(() =>
      commit.run(this.redis, [k.version, k.values, k.revisions, k.changes, k.feed, k.leader], args),
    )) as string[];
    if (reply[0] === 'FENCED') throw new FencedError(request.fence ?? '', reply[1]);
    if (reply[0] === 'VERSION') throw new VersionConflictError(request.expectVersion ?? 0, Number(reply[1]));
    if (reply[0] === 'REVISION') {
      const expected = request.expect?.get(reply[1]) ?? 0;
      throw new RevisionConflictError(reply[1], expected, Number(reply[2]));
    }
    const { actor, summary, ops } = request;
    const record: ChangeRecord = { version: Number(reply[1]), at, actor, summary, ops };
    // Read your own write: this replica holds the change before the caller hears of it.
    if (record.version === this.state.version + 1) this.applyRecord(record);
    else await this.follower.catchUp().catch(() => this.reload());
    if (this.state.version < record.version) await this.reload();
    return record;
  }

  async changes(from: number, to: number): Promise<ChangeRecord[]> {
    const versions: string[] = [];
    for (let v = Math.max(1, from); v <= to; v++) versions.push(String(v));
    const out: ChangeRecord[] = [];
    for (let i = 0; i < versions.length; i += 500) {
      const chunk = versions.slice(i, i + 500);
      const bodies = await this.run(() => this.redis.hmget(this.keys.changes, ...chunk));
      for (const body of bodies) if (body) out.push(JSON.parse(body) as ChangeRecord);
    }
    return out;
  }

  watch(listener: (change: ChangeRecord) => void): () => void {
    return this.changes$.add(listener);
  }

  watchStatus(listener: (status: StoreStatus) => void): () => void {
    return this.status$.add(listener);
  }

  shared(ns: string): ReadonlyMap<string, JsonValue> {
    return this.sharedState.get(ns) ?? new Map();
  }

  async putShared(
    ns: string,
    fields: readonly (readonly [string, JsonValue | undefined])[],
    fence?: string,
  ): Promise<void> {
    if (fields.length === 0) return;
    this.ensureWritable();
    const k = this.keys;
    const args: string[] = [fence ?? '', ns, String(this.feedLength)];
    for (const [field, value] of fields) args.push(field, value === undefined ? '' : JSON.stringify(value));
    const reply = (await this.run(() =>
      putShared.run(
        this.redis,
        [k.sharedPrefix + ns, k.sharedFeed, k.sharedSeq, k.leader, k.sharedIndex],
        args,
      ),
    )) as string[];
    if (reply[0] === 'FENCED') throw new FencedError(fence ?? '', reply[1]);
    const first = Number(reply[1]);
    if (first === this.sharedSeq + 1)
      fields.forEach(([field, value], i) => this.applyShared(first + i, { ns, field, value }));
    else await this.follower.catchUp().catch(() => this.reload());
    if (this.sharedSeq < first + fields.length - 1) await this.reload();
  }

  watchShared(listener: (change: SharedChange) => void): () => void {
    return this.shared$.add(listener);
  }

  private ensureWritable(): void {
    const status = this.status();
    if (status.state !== 'ok') throw new StoreUnavailableError(status.reason ?? 'unknown');
  }

  /** Runs a command; a connection failure becomes StoreUnavailableError (503 / UNAVAILABLE). */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof Error && /^(ERR|WRONGTYPE|NOSCRIPT)/.test(err.message)) throw err;
      throw new StoreUnavailableError(err instanceof Error ? err.message : String(err));
    }
  }

  private applyRecord(record: ChangeRecord): boolean {
    if (record.version <= this.state.version) return true; // already applied (own commit, overlap)
    if (record.version !== this.state.version + 1) return false; // a gap: the follower reloads
    this.state.apply(record);
    this.changes$.emit(record);
    return true;
  }

  private applyShared(seq: number, change: SharedChange): boolean {
    if (seq <= this.sharedSeq) return true;
    if (seq !== this.sharedSeq + 1) return false;
    this.sharedSeq = seq;
    let map = this.sharedState.get(change.ns);
    if (!map) this.sharedState.set(change.ns, (map = new Map()));
    if (change.value === undefined) map.delete(change.field);
    else map.set(change.field, change.value);
    this.shared$.emit(change);
    return true;
  }

  /**
   * Loads everything and announces the differences as one record. Both reads happen before anything
   * changes here: a load that fails half way leaves this replica as it was (and unannounced states
   * cannot happen). A store behind this replica lost data (flushed, restored from an old backup): this
   * replica keeps its state and refuses writes, since adopting an empty store would take every engine
   * out of routing.
   */
  private async reload(): Promise<void> {
    const { state: next, feedId } = await loadConfig(this.redis, this.keys);
    const shared = await loadShared(this.redis, this.keys);
    if (next.version < this.state.version) {
      this.problem = `the store is at version ${next.version}, behind this replica's ${this.state.version} (flushed or restored?); serving the last state, writes refused until the store is restored (nerve config import) and the replicas restarted`;
      this.emitStatus();
      return;
    }
    this.problem = undefined;
    const ops = opsBetween(this.state, next);
    const previous = this.state;
    const changes = sharedChanges(this.sharedState, shared.state);
    this.state = next;
    this.sharedState = shared.state;
    this.sharedSeq = shared.seq;
    this.follower.resetConfig(feedId);
    this.follower.resetShared(shared.feedId);
    for (const change of changes) this.shared$.emit(change);
    if (next.version !== previous.version || ops.length > 0)
      this.changes$.emit({
        version: next.version,
        at: Date.now(),
        actor: 'store',
        summary: 'reloaded from the store',
        ops,
      });
    this.emitStatus();
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    // Back: catch up (the follower resumes from its last id; a gap reloads).
    if (connected) void this.follower.catchUp().catch(() => this.reload().catch(() => undefined));
    this.emitStatus();
  }

  private emitStatus(): void {
    const status = this.status();
    if (status.state === this.lastStatus) return;
    this.lastStatus = status.state;
    this.status$.emit(status);
  }
}
