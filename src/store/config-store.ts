import type { EngineSpec } from '../model/engine';

export type StoreEvent =
  { readonly kind: 'put'; readonly spec: EngineSpec } | { readonly kind: 'delete'; readonly name: string };

/** Thrown by `put` when the stored revision is not the one the caller read (optimistic concurrency). */
export class RevisionConflictError extends Error {
  constructor(
    readonly engine: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`engine "${engine}" changed concurrently (expected revision ${expected}, found ${actual}); retry`);
  }
}

/**
 * Where engine specs live. The in-memory store is the embedded default; a Redis store shares state
 * between control-plane replicas. Revisions increase by one on every put of an engine, across deletes.
 */
export interface ConfigStore {
  list(): Promise<EngineSpec[]>;
  get(name: string): Promise<EngineSpec | undefined>;
  /**
   * Stores the spec with the next revision and returns it. With `expectedRevision`, fails with
   * RevisionConflictError unless the stored revision (0 when absent) equals it.
   */
  put(spec: EngineSpec, expectedRevision?: number): Promise<EngineSpec>;
  delete(name: string): Promise<boolean>;
  /** Calls listener after every change, in order; returns the unsubscribe function. */
  watch(listener: (event: StoreEvent) => void): () => void;
  close(): Promise<void>;
}

/**
 * Read-modify-write with optimistic concurrency: fn sees the current spec and returns the next one,
 * or undefined to leave it untouched. Retries on conflicts a few times.
 */
export async function updateEngine(
  store: ConfigStore,
  name: string,
  fn: (current: EngineSpec | undefined) => EngineSpec | undefined,
): Promise<EngineSpec | undefined> {
  for (let attempt = 0; ; attempt++) {
    const current = await store.get(name);
    const next = fn(current);
    if (next === undefined) return current;
    try {
      return await store.put(next, current?.revision ?? 0);
    } catch (err) {
      if (!(err instanceof RevisionConflictError) || attempt >= 4) throw err;
    }
  }
}
