import {
  type ChangeRecord,
  type ConfigEntry,
  ConfigState,
  type JsonValue,
  opsBetween,
} from '../model/config';
import {
  type ChangeRequest,
  type ConfigStore,
  type ReseedRequest,
  FencedError,
  RevisionConflictError,
  type SharedChange,
  type StoreStatus,
  VersionConflictError,
} from './config-store';
import type { LeaderLease } from './leader-lease';
import { MemoryHistoryStore } from './history-store';
import { Listeners } from './listeners';
import {
  DuplicateCommitError,
  IDEMPOTENCY_TTL_MS,
  type IdempotencyRecord,
  takeIdempotencyId,
} from './idempotency';

/** A lease in one process: the same contract as Redis's, timed by the local clock. */
class MemoryLease implements LeaderLease {
  private fence: string | undefined;
  private expiresAt = 0;
  private epoch = 0;

  constructor(private readonly now: () => number) {}

  current(): string | undefined {
    if (this.fence !== undefined && this.now() >= this.expiresAt) this.fence = undefined;
    return this.fence;
  }

  async acquire(holder: string, ttlMs: number): Promise<string | undefined> {
    const fence = this.current();
    if (fence !== undefined && !fence.startsWith(`${holder}:`)) return undefined;
    this.fence = fence ?? `${holder}:${++this.epoch}`;
    this.expiresAt = this.now() + ttlMs;
    return this.fence;
  }

  async renew(fence: string, ttlMs: number): Promise<boolean> {
    if (this.current() !== fence) return false;
    this.expiresAt = this.now() + ttlMs;
    return true;
  }

  async release(fence: string): Promise<void> {
    if (this.current() === fence) this.fence = undefined;
  }

  async holder(): Promise<string | undefined> {
    return this.current();
  }
}

/** The embedded store: one process, nothing persisted, the same contract as Redis's. */
export class MemoryStore implements ConfigStore {
  readonly lease: MemoryLease;
  readonly history = new MemoryHistoryStore();
  private readonly state = new ConfigState();
  private readonly log: ChangeRecord[] = [];
  private readonly sharedState = new Map<string, Map<string, JsonValue>>();
  private readonly idempotent = new Map<string, { record: IdempotencyRecord; expiresAt: number }>();
  private readonly changes$ = new Listeners<ChangeRecord>();
  private readonly shared$ = new Listeners<SharedChange>();

  constructor(private readonly now: () => number = Date.now) {
    this.lease = new MemoryLease(now);
  }

  async start(): Promise<void> {}

  async close(): Promise<void> {
    this.changes$.clear();
    this.shared$.clear();
  }

  status(): StoreStatus {
    return { backend: 'memory', state: 'ok', version: this.state.version, lagMs: 0 };
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
    const r = this.idempotent.get(id);
    if (r && r.expiresAt <= this.now()) this.idempotent.delete(id);
    return r && r.expiresAt > this.now() ? r.record : undefined;
  }

  async rememberAnswer(id: string, record: IdempotencyRecord): Promise<void> {
    this.idempotent.set(id, { record, expiresAt: this.now() + IDEMPOTENCY_TTL_MS });
  }

  async commit(request: ChangeRequest): Promise<ChangeRecord> {
    const key = takeIdempotencyId();
    const prior = key === undefined ? undefined : await this.idempotency(key);
    if (prior) throw new DuplicateCommitError(prior.version);
    this.checkFence(request.fence);
    if (request.expectVersion !== undefined && request.expectVersion !== this.state.version)
      throw new VersionConflictError(request.expectVersion, this.state.version);
    for (const [key, expected] of request.expect ?? []) {
      const actual = this.state.entries.get(key)?.revision ?? 0;
      if (actual !== expected) throw new RevisionConflictError(key, expected, actual);
    }
    const record: ChangeRecord = {
      version: this.state.version + 1,
      at: this.now(),
      actor: request.actor,
      summary: request.summary,
      ops: request.ops,
    };
    this.state.apply(record);
    this.log.push(record);
    // Recorded with the change, before anything else can run (no await between the two).
    if (key !== undefined)
      this.idempotent.set(key, {
        record: { version: record.version },
        expiresAt: this.now() + IDEMPOTENCY_TTL_MS,
      });
    this.changes$.emit(record);
    return record;
  }

  /**
   * One process holds the only copy, so it never diverges; a restore still writes the backup whole
   * (every difference, as one version), and a reseed records that it was asked for.
   */
  async reseed(request: ReseedRequest): Promise<ChangeRecord> {
    const target = request.entries
      ? ConfigState.from(
          this.state.version,
          request.entries.map((e) => ({ ...e, revision: 0 })),
        )
      : this.state;
    return this.commit({
      actor: request.actor,
      summary: request.summary,
      ops: opsBetween(this.state, target),
    });
  }

  async changes(from: number, to: number): Promise<ChangeRecord[]> {
    return this.log.slice(Math.max(0, from - 1), Math.max(0, to));
  }

  watch(listener: (change: ChangeRecord) => void): () => void {
    return this.changes$.add(listener);
  }

  watchStatus(): () => void {
    return () => undefined; // memory never goes away
  }

  shared(ns: string): ReadonlyMap<string, JsonValue> {
    return this.sharedState.get(ns) ?? new Map();
  }

  async putShared(
    ns: string,
    fields: readonly (readonly [string, JsonValue | undefined])[],
    fence?: string,
  ): Promise<void> {
    this.checkFence(fence);
    let map = this.sharedState.get(ns);
    if (!map) this.sharedState.set(ns, (map = new Map()));
    for (const [field, value] of fields) {
      if (value === undefined) map.delete(field);
      else map.set(field, value);
      this.shared$.emit({ ns, field, value });
    }
  }

  watchShared(listener: (change: SharedChange) => void): () => void {
    return this.shared$.add(listener);
  }

  private checkFence(fence: string | undefined): void {
    if (fence === undefined) return;
    const holder = this.lease.current();
    if (holder !== fence) throw new FencedError(fence, holder ?? '');
  }
}
