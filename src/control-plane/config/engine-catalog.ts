import { type ChangeRecord, type ConfigEntry, entryKey } from '../../model/config';
import type { EngineSpec } from '../../model/engine';
import { ENGINE_KIND, fromDocument, toDocument } from '../../model/engine-document';
import { type ConfigStore, RevisionConflictError } from '../../store/config-store';
import type { EngineEvent } from '../../model/engine-event';
import { echo } from '../../model/echo';
import { NerveError } from '../../model/errors';

/** Who changes something, and the one line history shows for it. */
export interface WriteMeta {
  readonly actor: string;
  readonly summary: string;
  /** Singleton work (the leader's supervision): refused unless this fence still holds the lease. */
  readonly fence?: string;
}

export const engineKey = (name: string): string => entryKey(ENGINE_KIND, name);

/**
 * Engine specs over the generic versioned store: entries of kind `engines` decoded into EngineSpec
 * (decoded once per revision), typed writes and per-engine change events.
 */
export class EngineCatalog {
  private readonly decoded = new Map<string, EngineSpec>();
  /** Stored entries that do not parse, by name → revision (reported once per revision). */
  private readonly invalid = new Map<string, number>();
  private pruneAt = 16;

  constructor(
    readonly store: ConfigStore,
    private readonly onInvalid: (name: string, errors: string[]) => void = () => undefined,
  ) {}

  async list(): Promise<EngineSpec[]> {
    return this.listNow();
  }

  /** The engines this replica holds now, sorted by name. */
  listNow(): EngineSpec[] {
    const out: EngineSpec[] = [];
    for (const e of this.store.list(ENGINE_KIND)) {
      const spec = this.decode(e);
      if (spec) out.push(spec);
    }
    return out;
  }

  async get(name: string): Promise<EngineSpec | undefined> {
    return this.getNow(name);
  }

  getNow(name: string): EngineSpec | undefined {
    const entry = this.store.get(ENGINE_KIND, name);
    return entry ? this.decode(entry) : undefined;
  }

  /**
   * Stores the spec as the next version and returns it with its new revision. With `expectedRevision`,
   * fails with RevisionConflictError unless the stored revision (0 when absent) equals it.
   */
  async put(spec: EngineSpec, meta: WriteMeta, expectedRevision?: number): Promise<EngineSpec> {
    // Every writer goes through here (operators, rollouts, drivers, leases): a spec that would not
    // read back is refused, never stored, so no change can make an engine vanish from every replica.
    const value = toDocument(spec);
    const check = fromDocument(value, 0);
    if (!check.ok)
      throw new NerveError(
        'FAILED_PRECONDITION',
        `${meta.actor}: refused to store engine ${echo(spec.name)}, which would not be valid: ${check.errors.join('; ')}`,
        check.errors,
      );
    const record = await this.store.commit({
      ...meta,
      ops: [{ op: 'put', kind: ENGINE_KIND, name: spec.name, value }],
      expect:
        expectedRevision === undefined ? undefined : new Map([[engineKey(spec.name), expectedRevision]]),
    });
    return { ...spec, revision: record.version };
  }

  async delete(name: string, meta: WriteMeta, expectedRevision?: number): Promise<boolean> {
    if (!this.store.get(ENGINE_KIND, name) && expectedRevision === undefined) return false;
    await this.store.commit({
      ...meta,
      ops: [{ op: 'delete', kind: ENGINE_KIND, name }],
      expect: new Map([
        [engineKey(name), expectedRevision ?? this.store.get(ENGINE_KIND, name)?.revision ?? 0],
      ]),
    });
    return true;
  }

  /** Calls listener for every engine a change put or deleted, in order; returns the unsubscribe function. */
  watch(listener: (event: EngineEvent) => void): () => void {
    return this.store.watch((change: ChangeRecord) => {
      for (const op of change.ops) {
        if (op.kind !== ENGINE_KIND) continue;
        if (op.op === 'delete') listener({ kind: 'delete', name: op.name });
        else {
          const entry = this.store.get(ENGINE_KIND, op.name);
          const spec = entry && this.decode(entry);
          if (spec) listener({ kind: 'put', spec });
        }
      }
    });
  }

  private decode(entry: ConfigEntry): EngineSpec | undefined {
    const cached = this.decoded.get(entry.name);
    if (cached && cached.revision === entry.revision) return cached;
    const parsed = fromDocument(entry.value, entry.revision);
    // Writes are validated before they reach the store; an entry that fails here was written by hand
    // or by a newer version. It is left out (and reported) rather than crashing the replica.
    if (!parsed.ok) {
      if (this.invalid.get(entry.name) !== entry.revision) {
        this.invalid.set(entry.name, entry.revision);
        this.onInvalid(entry.name, parsed.errors);
      }
      return undefined;
    }
    this.invalid.delete(entry.name);
    this.decoded.set(entry.name, parsed.value);
    if (this.decoded.size > this.pruneAt) this.prune();
    return parsed.value;
  }

  /** Drops decoded specs of deleted engines; runs when the cache doubled since the last time. */
  private prune(): void {
    for (const name of this.decoded.keys()) if (!this.store.get(ENGINE_KIND, name)) this.decoded.delete(name);
    this.pruneAt = 2 * this.decoded.size + 16;
  }
}

/**
 * Read-modify-write with optimistic concurrency: fn sees the current spec and returns the next one,
 * or undefined to leave it untouched. Retries on conflicts a few times.
 */
export async function updateEngine(
  catalog: EngineCatalog,
  name: string,
  meta: WriteMeta,
  fn: (current: EngineSpec | undefined) => EngineSpec | undefined,
): Promise<EngineSpec | undefined> {
  for (let attempt = 0; ; attempt++) {
    const current = await catalog.get(name);
    const next = fn(current);
    if (next === undefined) return current;
    try {
      return await catalog.put(next, meta, current?.revision ?? 0);
    } catch (err) {
      if (!(err instanceof RevisionConflictError) || attempt >= 4) throw err;
    }
  }
}
