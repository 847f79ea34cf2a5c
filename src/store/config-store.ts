import type { ChangeMeta, ChangeRecord, ConfigEntry, ConfigOp, JsonValue } from '../model/config';
import type { LeaderLease } from './leader-lease';
import type { HistoryStore } from './history-store';
import type { IdempotencyRecord } from './idempotency';

/** Thrown by `commit` when an entry's revision is not the one the caller read (optimistic concurrency). */
export class RevisionConflictError extends Error {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`"${key}" changed concurrently (expected revision ${expected}, found ${actual}); read it again`);
  }
}

/** Thrown by `commit` when the configuration moved past the version the caller read. */
export class VersionConflictError extends Error {
  constructor(
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`the configuration changed concurrently (expected version ${expected}, found ${actual})`);
  }
}

/** The store cannot be reached or is not in sync: writes fail fast, reads answer from the last state. */
export class StoreUnavailableError extends Error {
  constructor(reason: string) {
    super(`configuration store unavailable: ${reason}`);
  }
}

/**
 * The store lost or changed the data this replica followed (flushed, restarted empty, restored from an
 * older snapshot, another generation): writes are refused until an operator restores a backup or
 * reseeds the store from a replica (POST /config/store/reseed); reads and routers keep the last state.
 */
export class StoreDivergedError extends StoreUnavailableError {
  constructor(reason: string) {
    super(`diverged: ${reason}`);
  }
}

/** A singleton write carried a fencing token that is no longer the lease holder's: refused. */
export class FencedError extends Error {
  constructor(fence: string, holder: string) {
    super(`write fenced: lease ${fence} is no longer held (holder now: ${holder || 'none'})`);
  }
}

export interface ChangeRequest extends Omit<ChangeMeta, 'at'> {
  readonly ops: readonly ConfigOp[];
  /** Entry key → the revision the caller read (0: must not exist). */
  readonly expect?: ReadonlyMap<string, number>;
  /** The version the caller read; the commit fails unless it is still the newest. */
  readonly expectVersion?: number;
  /** Singleton work: the leader's fence; refused unless it still holds the lease. */
  readonly fence?: string;
}

export interface StoreStatus {
  readonly backend: 'memory' | 'redis';
  /**
   * ok: connected and following the feed; unavailable: serving the last state, writes refused;
   * diverged: the store lost or changed this replica's data: serving the last state, writes refused
   * until a backup is restored or the store is reseeded.
   */
  readonly state: 'ok' | 'unavailable' | 'diverged';
  readonly reason?: string;
  /** The store's identity this replica follows (Redis: set once per store, changed only by a reseed). */
  readonly generation?: string;
  /** The newest version this replica applied. */
  readonly version: number;
  /** ms since this replica last heard from the store (0 in memory). */
  readonly lagMs: number;
  /**
   * Changes this replica read but does not apply yet: Redis replicas have not confirmed them
   * (NERVE_REDIS_MIN_REPLICAS > 0). Absent when changes are not waited for.
   */
  readonly unconfirmed?: number;
}

/** One change of shared runtime state (not versioned): a field of a namespace set or removed. */
export interface SharedChange {
  readonly ns: string;
  readonly field: string;
  readonly value: JsonValue | undefined;
}

/**
 * Where the configuration lives. Reads are local and synchronous: every replica holds the whole state
 * and follows the store's change feed, so reads answer while the store is down (static stability).
 * Writes are atomic commits that check revisions and fences and append one record to the log.
 *
 * Besides the versioned configuration, a store shares runtime state between replicas (health results,
 * circuit states, router reports): namespaces of JSON fields, last write wins, optionally fenced.
 */
/** An operator's way on from a diverged store: write a whole configuration as a new generation. */
export interface ReseedRequest extends Omit<ChangeMeta, 'at'> {
  /** A backup's entries (restore); absent: this replica's own state (reseed). */
  readonly entries?: readonly { kind: string; name: string; value: JsonValue }[];
}

export interface ConfigStore {
  readonly lease: LeaderLease;
  /**
   * Idempotency records (store/idempotency.ts): a commit made under a key records its version; the API
   * adds its answer. Shared by every replica, kept IDEMPOTENCY_TTL_MS.
   */
  idempotency(id: string): Promise<IdempotencyRecord | undefined>;
  rememberAnswer(id: string, record: IdempotencyRecord): Promise<void>;
  /** Metric history (time series), kept beside the configuration. */
  readonly history: HistoryStore;
  /** Connects and loads the current state; resolves even when the store is down (status says so). */
  start(): Promise<void>;
  close(): Promise<void>;
  status(): StoreStatus;
  version(): number;
  /** Entries of a kind (every kind when omitted), sorted by name. */
  list(kind?: string): ConfigEntry[];
  get(kind: string, name: string): ConfigEntry | undefined;
  /** Applies the ops atomically as the next version, or throws (conflict, fence, unavailable). */
  commit(request: ChangeRequest): Promise<ChangeRecord>;
  /**
   * Writes a whole configuration (a backup's, or this replica's) and its shared state as a new
   * generation of the store, at a version above any a replica served; replicas that followed the
   * store's previous generation adopt it. Works while diverged: it is the way out.
   */
  reseed(request: ReseedRequest): Promise<ChangeRecord>;
  /** Records of versions from..to (inclusive), oldest first; versions past the newest are left out. */
  changes(from: number, to: number): Promise<ChangeRecord[]>;
  /**
   * Calls listener after each change this replica applied, in version order; a reload (a feed trimmed
   * past this replica, a store that came back) arrives as one record of the differences.
   */
  watch(listener: (change: ChangeRecord) => void): () => void;
  /** Calls listener when the status changes (store lost, back). */
  watchStatus(listener: (status: StoreStatus) => void): () => void;

  shared(ns: string): ReadonlyMap<string, JsonValue>;
  /** Sets (value) or removes (undefined) fields of one namespace atomically. */
  putShared(
    ns: string,
    fields: readonly (readonly [string, JsonValue | undefined])[],
    fence?: string,
  ): Promise<void>;
  watchShared(listener: (change: SharedChange) => void): () => void;
}

export function storeError(err: unknown): boolean {
  return (
    err instanceof RevisionConflictError ||
    err instanceof VersionConflictError ||
    err instanceof StoreUnavailableError ||
    err instanceof FencedError
  );
}
