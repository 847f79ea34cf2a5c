import type Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
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
  type ReseedRequest,
  StoreDivergedError,
  type SharedChange,
  type StoreStatus,
  StoreUnavailableError,
} from '../config-store';
import { Listeners } from '../listeners';
import {
  DuplicateCommitError,
  IDEMPOTENCY_TTL_MS,
  type IdempotencyRecord,
  takeIdempotencyId,
} from '../idempotency';
import type { RedisTarget } from '../../model/redis-target';
import { commitCall, commitRefusal } from './commit-call';
import { FeedFollower } from './feed-follower';
import { redisClient } from './redis-client';
import { ReplicationWait } from './replication-wait';
import { type RedisKeys, redisKeys } from './keys';
import { LuaScript } from './lua';
import { RedisLease } from './redis-lease';
import { RedisHistoryStore } from './redis-history';
import {
  type DivergedMarker,
  type GenerationInfo,
  loadConfig,
  loadShared,
  type SharedState,
  sharedChanges,
} from './loader';
import { COMMIT, INIT_GENERATION, PUT_SHARED, RESEED } from './scripts';
import { divergence, generationContent } from './store-identity';
import { StoreProbe } from './store-probe';

const commit = new LuaScript(COMMIT);
const putShared = new LuaScript(PUT_SHARED);
const initGeneration = new LuaScript(INIT_GENERATION);
const reseedScript = new LuaScript(RESEED);

/** A replica this far behind on a load is told the difference as one change, not change by change. */
const RECORDS_ON_LOAD = 1_000;

/** A Redis connected but silent this long is unavailable: writes refused, status says so. */
const HUNG_AFTER_MS = 750;

export interface RedisStoreOptions {
  /** One Redis (tests, REDIS_URL), or `target`: a URL or Sentinel's primary. */
  readonly url?: string;
  readonly target?: RedisTarget;
  /** Key prefix (NERVE_REDIS_PREFIX); default `nerve:`. */
  readonly prefix?: string;
  /** How many change records the feed keeps (approximately); replicas further behind reload. */
  readonly feedLength?: number;
  /** A command that gets no answer in this time fails (a half-open connection). */
  readonly commandTimeoutMs?: number;
  /** How often the store's identity (generation, version, diverged marker) is checked (default 250 ms). */
  readonly identityCheckMs?: number;
  /** Who this replica is, in the diverged marker it leaves in the store (default host:pid). */
  readonly owner?: string;
  readonly onError?: (message: string, err: unknown) => void;
  /**
   * Replicas that must confirm a commit or a lease change before it is acknowledged (replication-wait.ts);
   * default 1 through Sentinel, 0 for one Redis.
   */
  readonly minReplicas?: number;
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
  /** Why this replica does not follow the store although connected: the store lost or changed its data. */
  private diverged: string | undefined;
  private divergedAt = 0;
  /** What the last identity check saw while diverged: look again only when it changes. */
  private seenIdentity = '';
  /** The store generation this replica follows; undefined until it first loaded the store. */
  private generation: string | undefined;
  private identityTimer: NodeJS.Timeout | undefined;
  /** Identity reads: whether Redis answers (a hung Redis), and its clock for commit deadlines. */
  private readonly probe: StoreProbe;
  private readonly replication: ReplicationWait;
  private readonly commandTimeoutMs: number;
  private readonly identityCheckMs: number;
  private readonly owner: string;
  private lastStatus: StoreStatus['state'] = 'unavailable';
  private confirming = false;
  /** The last change applied one by one (a load forgets it): the identity check compares it. */
  private lastRecord: ChangeRecord | undefined;
  /** A load failed (a gap, an identity change): the next identity check loads again. */
  private reloadOwed = false;
  private readonly feedLength: number;
  private readonly onError: (message: string, err: unknown) => void;

  constructor(options: RedisStoreOptions) {
    this.keys = redisKeys(options.prefix ?? 'nerve:');
    this.feedLength = options.feedLength ?? 10_000;
    this.identityCheckMs = options.identityCheckMs ?? 250;
    this.commandTimeoutMs = options.commandTimeoutMs ?? 1_000;
    this.owner = options.owner ?? `${hostname()}:${process.pid}`;
    this.onError = options.onError ?? (() => undefined);
    const report = (err: unknown) => this.onError('store listener failed', err);
    this.changes$ = new Listeners(report);
    this.shared$ = new Listeners(report);
    this.status$ = new Listeners(report);
    const connection = {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: this.commandTimeoutMs,
      connectTimeout: 2_000,
      lazyConnect: true,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 5), 1_000),
    };
    const target: RedisTarget = options.target ?? { kind: 'url', url: options.url ?? '' };
    if (target.kind === 'url' && target.url === '') throw new Error('RedisStore needs a url or a target');
    this.redis = redisClient(target, connection);
    this.redis.on('error', () => undefined); // every failure surfaces as a command error or 'close'
    this.redis.on('close', () => this.setConnected(false));
    this.redis.on('ready', () => this.setConnected(true));
    this.replication = new ReplicationWait(
      this.redis,
      this.keys,
      options.minReplicas ?? (target.kind === 'sentinel' ? 1 : 0),
      Math.max(50, Math.floor(this.commandTimeoutMs / 2)),
      this.feedLength,
    );
    this.lease = new RedisLease(this.redis, this.keys, this.replication);
    this.probe = new StoreProbe(this.redis, this.keys);
    this.history = new RedisHistoryStore(this.redis, options.prefix ?? 'nerve:');
    this.follower = new FeedFollower(
      redisClient(target, { ...connection, commandTimeout: undefined }),
      this.redis,
      this.keys,
      {
        position: () => ({ version: this.state.version, sharedSeq: this.sharedSeq }),
        onRecord: (record) => this.applyRecord(record),
        onShared: (seq, change) => this.applyShared(seq, change),
        onGap: () => this.reload(),
        onStateChange: () => this.emitStatus(),
        gated: this.replication.gated,
      },
    );
  }

  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await this.redis.connect().catch(() => undefined);
    if (this.connected) await this.reload().catch((err) => this.onError('initial load failed', err));
    await this.follower.start();
    await this.checkIdentity(); // measures the clock offset commits' deadlines need
    this.identityTimer = setInterval(() => void this.checkIdentity(), this.identityCheckMs).unref();
  }

  async close(): Promise<void> {
    clearInterval(this.identityTimer);
    this.follower.stop();
    this.redis.disconnect();
    this.changes$.clear();
    this.shared$.clear();
    this.status$.clear();
  }

  status(): StoreStatus {
    const base = {
      backend: 'redis' as const,
      version: this.state.version,
      lagMs: this.follower.lagMs(),
      generation: this.generation,
      ...(this.replication.gated ? { unconfirmed: this.follower.gate.size } : {}),
    };
    if (this.diverged !== undefined) return { ...base, state: 'diverged', reason: this.diverged };
    const waiting = this.probe.silentForMs();
    const reason = !this.connected
      ? 'Redis is not reachable'
      : waiting > HUNG_AFTER_MS
        ? `Redis does not answer (connected, no reply for ${waiting} ms)`
        : this.generation === undefined
          ? 'the store has not been loaded yet'
          : this.follower.failing
            ? `the change feed fails: ${this.follower.failing}`
            : undefined;
    return { ...base, state: reason === undefined ? 'ok' : 'unavailable', reason };
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

  async idempotency(id: string): Promise<IdempotencyRecord | undefined> {
    const text = await this.run(() => this.redis.get(this.keys.idempotencyPrefix + id));
    return text ? (JSON.parse(text) as IdempotencyRecord) : undefined;
  }

  async rememberAnswer(id: string, record: IdempotencyRecord): Promise<void> {
    await this.run(() =>
      this.redis.set(this.keys.idempotencyPrefix + id, JSON.stringify(record), 'PX', IDEMPOTENCY_TTL_MS),
    );
  }

  async commit(request: ChangeRequest): Promise<ChangeRecord> {
    this.ensureWritable();
    // A commit that reaches Redis after this replica stopped waiting is refused there: a write answered
    // "no answer" is never applied later, when a stalled Redis resumes.
    const offset = this.probe.clockOffsetMs;
    const deadline = offset === undefined ? 0 : Date.now() + offset + this.commandTimeoutMs - 100;
    const call = commitCall(this.keys, request, {
      feedLength: this.feedLength,
      deadline,
      generation: this.generation,
      idempotent: takeIdempotencyId(),
      now: Date.now(),
    });
    const reply = (await this.run(() => commit.run(this.redis, call.keys, call.args)).catch(
      (err: unknown) => {
        if (err instanceof StoreUnavailableError && /timed out/i.test(err.message) && deadline > 0)
          throw new StoreUnavailableError(
            `no answer within ${this.commandTimeoutMs} ms: if the store took the change it did so by ${new Date(deadline - (offset ?? 0)).toISOString()} (see the configuration history); it will not be applied later`,
          );
        throw err;
      },
    )) as string[];
    if (reply[0] === 'GENERATION') throw await this.generationMoved(reply[1]);
    if (reply[0] === 'DUPLICATE') {
      // The first attempt may be one the replicas never confirmed: it is answered as committed only
      // once they hold it.
      const first = (JSON.parse(reply[1]) as IdempotencyRecord).version;
      if (this.replication.gated && (await this.run(() => this.replication.confirmStore())) === undefined)
        throw new StoreUnavailableError(
          `the first attempt (version ${first}) is on the primary, but not yet on the replicas it needs (NERVE_REDIS_MIN_REPLICAS); retry with the same Idempotency-Key`,
        );
      throw new DuplicateCommitError(first);
    }
    const refused = commitRefusal(reply, request);
    if (refused) throw refused;
    // Held by the replicas a failover could promote, or not acknowledged (it still reaches every
    // replica, confirmed later, if it stays on this primary).
    await this.run(() => this.replication.require(`the change (version ${reply[1]})`));
    const { actor, summary, ops } = request;
    const record: ChangeRecord = { version: Number(reply[1]), at: call.at, actor, summary, ops };
    // Read your own write: this replica holds the change before the caller hears of it.
    if (this.replication.gated) {
      this.replication.announce(record.version).catch(() => undefined); // the others apply it now
      this.follower.gate.hold(record);
      if (!this.follower.confirm(record.version)) await this.follower.catchUp().catch(() => this.reload());
    } else if (record.version === this.state.version + 1) this.applyRecord(record);
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
    return this.writeShared(ns, fields, fence);
  }

  /** putShared without the status check: a reseed writes shared state back while the feed recovers. */
  private async writeShared(
    ns: string,
    fields: readonly (readonly [string, JsonValue | undefined])[],
    fence?: string,
  ): Promise<void> {
    const k = this.keys;
    const args: string[] = [fence ?? '', ns, String(this.feedLength), this.generation ?? ''];
    for (const [field, value] of fields) args.push(field, value === undefined ? '' : JSON.stringify(value));
    const reply = (await this.run(() =>
      putShared.run(
        this.redis,
        [k.sharedPrefix + ns, k.sharedFeed, k.sharedSeq, k.leader, k.sharedIndex, k.generation],
        args,
      ),
    )) as string[];
    if (reply[0] === 'GENERATION') throw await this.generationMoved(reply[1]);
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
    if (status.state === 'diverged') throw new StoreDivergedError(status.reason ?? 'unknown');
    if (status.state !== 'ok') throw new StoreUnavailableError(status.reason ?? 'unknown');
  }

  /** A write found another generation in the store: look again (adopt a reseed, or diverge). */
  private async generationMoved(actual: string): Promise<Error> {
    await this.reload().catch(() => undefined);
    return this.diverged !== undefined
      ? new StoreDivergedError(this.diverged)
      : new StoreUnavailableError(
          `the store's generation changed under this write (now ${actual || 'none'}); retry`,
        );
  }

  /**
   * The store's identity, read every identityCheckMs and on every reconnect: another generation (a
   * flushed or replaced store), a version behind this replica's (a restart that lost writes, an old
   * snapshot), or another replica's diverged marker make this replica look again, which diverges or
   * adopts an operator's reseed. Cheap: one MGET of three short keys.
   */
  private async checkIdentity(): Promise<void> {
    if (!this.connected) return;
    const hung = setTimeout(() => this.emitStatus(), HUNG_AFTER_MS + 10);
    const told = this.lastRecord;
    const reply = await this.probe.read(told?.version ?? 0);
    clearTimeout(hung);
    this.emitStatus();
    if (!reply) return;
    const [generation, version, marker, sharedSeq, record] = reply;
    // The change this replica applied last is not the one the store holds at that version: the store's
    // history was rewritten under it (a failover promoted a Redis replica that lacked acknowledged
    // changes, and newer ones took their versions). A version check alone misses this.
    if (
      told !== undefined &&
      told === this.lastRecord &&
      this.diverged === undefined &&
      generation === (this.generation ?? null) &&
      Number(version ?? 0) >= told.version &&
      (record === null || (JSON.parse(record) as ChangeRecord).at !== told.at)
    )
      return this.diverge(
        `the store's change ${told.version} is not the one this replica applied (${record === null ? 'it has none' : 'another one'}): it lost acknowledged changes, as when a failover promotes a Redis replica that lacked them`,
      );
    const seen = `${generation}|${version}|${marker === null ? '' : 'marked'}`;
    if (this.diverged !== undefined && seen === this.seenIdentity) return;
    this.seenIdentity = seen;
    // A shared sequence behind this replica's: a failover lost shared writes the old primary took
    // (they are not waited for). Without a reload of the shared state the new primary's next writes
    // would reuse those numbers and be taken for ones already applied.
    const moved =
      this.reloadOwed ||
      (generation ?? '') !== (this.generation ?? '') ||
      Number(version ?? 0) < this.state.version ||
      (marker !== null && this.diverged === undefined);
    if (moved) await this.reload().catch((err) => this.onError('store identity check failed', err));
    else if (Number(sharedSeq ?? 0) < this.sharedSeq)
      await this.reloadShared().catch((err) => this.onError('shared state reload failed', err));
    else if (this.follower.gate.waitedMs() > this.replication.waitMs * 2) await this.confirmWaiting();
  }

  /**
   * Changes read but never confirmed (their committer's WAIT timed out, or it died before it could say):
   * confirmed here once the replicas hold them, so that every replica applies them in the end.
   */
  private async confirmWaiting(): Promise<void> {
    if (this.confirming) return;
    this.confirming = true;
    try {
      const version = await this.replication.confirmStore();
      if (version !== undefined && !this.follower.confirm(version)) await this.follower.catchUp();
    } catch {
      // not confirmed now: the next identity check tries again
    } finally {
      this.confirming = false;
    }
  }

  /**
   * Stops acknowledging writes, says why on status, and leaves a marker in the store (once) so that a
   * replica starting on it later does not adopt it as if nothing had happened.
   */
  private async diverge(reason: string, leaveMarker = true): Promise<void> {
    if (this.diverged === undefined) {
      this.divergedAt = Date.now();
      this.onError('configuration store diverged', new Error(reason));
    }
    this.diverged = reason;
    if (leaveMarker && this.generation !== undefined) {
      const marker: DivergedMarker = {
        replica: this.owner,
        generation: this.generation,
        version: this.state.version,
        reason,
        at: Date.now(),
      };
      await this.redis.set(this.keys.diverged, JSON.stringify(marker), 'NX').catch(() => undefined);
    }
    this.emitStatus();
  }

  /**
   * Writes a whole configuration as a new generation: an operator's way on from a diverged store (or a
   * deliberate restore). The version is above any this replica or the store has, so every replica and
   * router sees it as newer; the shared state this replica holds (alerts, rollouts, leases) is written
   * back too.
   */
  async reseed(request: ReseedRequest): Promise<ChangeRecord> {
    if (!this.connected) throw new StoreUnavailableError('Redis is not reachable');
    const k = this.keys;
    const storeVersion = Number((await this.run(() => this.redis.get(k.version))) ?? 0);
    const version = Math.max(this.state.version, storeVersion) + 1;
    const current = this.state;
    const target = generationContent(current, request.entries, version);
    const ops = opsBetween(current, target);
    const id = randomUUID();
    const at = Date.now();
    const info: GenerationInfo = {
      id,
      origin: request.entries ? 'restored' : 'reseeded',
      supersedes: this.generation ?? '',
      at,
      by: request.actor,
      version,
    };
    const body = JSON.stringify({
      at,
      actor: request.actor,
      summary: request.summary,
      ops,
      generation: id,
    }).slice(1);
    const args: (string | number)[] = [id, JSON.stringify(info), version, this.feedLength, body];
    for (const e of target.list()) args.push(entryKey(e.kind, e.name), JSON.stringify(e.value), e.revision);
    const keptShared = this.sharedState;
    await this.run(() =>
      reseedScript.run(
        this.redis,
        [k.version, k.values, k.revisions, k.changes, k.feed, k.generation, k.generationInfo, k.diverged],
        args,
      ),
    );
    await this.reload();
    if (this.generation !== id)
      throw new StoreUnavailableError('another reseed or restore replaced this one; read the status again');
    for (const [ns, fields] of keptShared) {
      const missing = [...fields].filter(([f]) => !this.shared(ns).has(f));
      if (missing.length > 0) await this.writeShared(ns, missing);
    }
    return { version, at, actor: request.actor, summary: request.summary, ops, generation: id };
  }

  /** Runs a command; a connection failure becomes StoreUnavailableError (503 / UNAVAILABLE). */
  private async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof StoreUnavailableError) throw err;
      if (err instanceof Error && /^(ERR|WRONGTYPE|NOSCRIPT)/.test(err.message)) throw err;
      throw new StoreUnavailableError(err instanceof Error ? err.message : String(err));
    }
  }

  private applyRecord(record: ChangeRecord): boolean {
    // The first record of another generation: reload, which adopts it or diverges.
    if (record.generation !== undefined && record.generation !== this.generation) return false;
    if (this.diverged !== undefined) return true; // nothing is applied until an operator decides
    if (record.version <= this.state.version) return true; // already applied (own commit, overlap)
    if (record.version !== this.state.version + 1) return false; // a gap: the follower reloads
    this.state.apply(record);
    this.lastRecord = record;
    this.changes$.emit(record);
    return true;
  }

  private applyShared(seq: number, change: SharedChange): boolean {
    if (this.diverged !== undefined) return true; // another generation's state: not this replica's
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
   * cannot happen). A store that lost or changed this replica's data (see `divergence`) is not
   * adopted: this replica keeps its state, refuses writes and says so, since adopting an empty store
   * would take every engine out of routing. A store with no identity yet gets one here.
   */
  private async reload(): Promise<void> {
    try {
      await this.load();
      this.reloadOwed = false;
    } catch (err) {
      this.reloadOwed = true; // the identity check tries again: a gap skipped is not forgotten
      throw err;
    }
  }

  /** The shared state alone, as the store holds it now; what changed is told. */
  private async reloadShared(): Promise<void> {
    const shared = await loadShared(this.redis, this.keys);
    const changes = sharedChanges(this.sharedState, shared.state);
    this.sharedState = shared.state;
    this.sharedSeq = shared.seq;
    this.follower.resetShared(shared.feedId);
    for (const change of changes) this.shared$.emit(change);
  }

  private async load(): Promise<void> {
    let loaded = await loadConfig(this.redis, this.keys);
    const shared = await loadShared(this.redis, this.keys);
    // What was loaded may hold changes no Redis replica confirmed yet, which a failover could take
    // back: a replica that serves a state already does not move to one until it is confirmed (it
    // tries again at the next identity check). One that serves nothing yet loads it regardless.
    if (
      this.replication.gated &&
      (await this.replication.confirmStore().catch(() => undefined)) === undefined &&
      this.generation !== undefined &&
      loaded.state.version > this.state.version
    )
      throw new StoreUnavailableError(
        `the store is at version ${loaded.state.version}, not yet confirmed by the replicas NERVE_REDIS_MIN_REPLICAS asks for: not loaded until it is`,
      );
    if (loaded.generation === '' && this.generation === undefined && !loaded.marker) {
      const info: GenerationInfo = {
        id: randomUUID(),
        origin: 'created',
        at: Date.now(),
        by: this.owner,
        version: loaded.state.version,
      };
      const reply = (await initGeneration.run(
        this.redis,
        [this.keys.generation, this.keys.generationInfo, this.keys.diverged],
        [info.id, JSON.stringify(info)],
      )) as string[];
      if (reply[0] !== 'DIVERGED') loaded = { ...loaded, generation: reply[1] };
      else loaded = await loadConfig(this.redis, this.keys);
    }
    const problem = divergence(
      {
        generation: this.generation,
        version: this.state.version,
        divergedAtMs: this.diverged === undefined ? undefined : this.divergedAt,
      },
      { ...loaded, version: loaded.state.version },
    );
    if (problem !== undefined) return this.diverge(problem, !loaded.marker);
    const next = loaded.state;
    // The changes between what this replica holds and what it loaded, each told as it was committed
    // (a load is not a reason to merge them: every replica tells every version once).
    const between =
      this.diverged === undefined && loaded.generation === this.generation
        ? await this.recordsBetween(this.state.version, next.version)
        : [];
    this.generation = loaded.generation;
    const wasDiverged = this.diverged !== undefined;
    this.diverged = undefined;
    const told: ChangeRecord[] = [];
    for (const record of between)
      if (record.version === this.state.version + 1 && record.version <= next.version) {
        this.state.apply(record);
        told.push(record);
      }
    this.lastRecord =
      told.length > 0 && told[told.length - 1].version === next.version ? told[told.length - 1] : undefined;
    const ops = opsBetween(this.state, next);
    const previous = this.state;
    const changes = sharedChanges(this.sharedState, shared.state);
    this.state = next;
    this.sharedState = shared.state;
    this.sharedSeq = shared.seq;
    this.follower.resetConfig(loaded.feedId);
    this.follower.resetShared(shared.feedId);
    for (const change of changes) this.shared$.emit(change);
    for (const record of told) this.changes$.emit(record);
    if (next.version !== previous.version || ops.length > 0 || wasDiverged)
      this.changes$.emit({
        version: next.version,
        at: Date.now(),
        actor: 'store',
        summary: wasDiverged ? `adopted store generation ${loaded.generation}` : 'reloaded from the store',
        ops,
      });
    this.emitStatus();
  }

  /**
   * The change records after `from` up to `to`, in order, when the store has every one of them (at most
   * RECORDS_ON_LOAD); otherwise none, and the load is told as one change.
   */
  private async recordsBetween(from: number, to: number): Promise<ChangeRecord[]> {
    if (to <= from || to - from > RECORDS_ON_LOAD) return [];
    const records = await this.changes(from + 1, to).catch(() => []);
    return records.length === to - from && records.every((r, i) => r.version === from + 1 + i) ? records : [];
  }

  private setConnected(connected: boolean): void {
    if (this.connected === connected) return;
    this.connected = connected;
    if (connected) this.probe.reset();
    // Back: catch up (the follower resumes from its last id; a gap reloads), and check the store is the
    // one left: a Redis restarted without its data comes back empty.
    if (connected) {
      void this.follower.catchUp().catch(() => this.reload().catch(() => undefined));
      void this.checkIdentity();
    }
    this.emitStatus();
  }

  private emitStatus(): void {
    const status = this.status();
    if (status.state === this.lastStatus) return;
    this.lastStatus = status.state;
    this.status$.emit(status);
  }
}
