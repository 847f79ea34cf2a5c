import type { JsonValue } from '../model/config';
import type { ConfigStore, SharedChange } from './config-store';

/**
 * One namespace of shared runtime state (health results, leases, rollouts…) with the type of its values.
 * Every module that writes or reads a namespace does so through its handle, so the JSON boundary is
 * crossed here and nowhere else; the value type is the contract between the writer and its readers.
 * Each handle states who writes it (`writer`); a name is declared once.
 */
export class SharedNamespace<T> {
  private static readonly all = new Map<string, string>();

  constructor(
    readonly name: string,
    /** Who writes it, and under which fence: the contract readers rely on. */
    readonly writer: string,
  ) {
    // Two handles on one name would be two contracts for the same data.
    if (SharedNamespace.all.has(name)) throw new Error(`shared namespace ${name} is declared twice`);
    SharedNamespace.all.set(name, writer);
  }

  /** Every namespace declared so far, by name, with its writer. */
  static catalogue(): ReadonlyMap<string, string> {
    return SharedNamespace.all;
  }

  /** The namespace's fields and values as this replica holds them. */
  map(store: ConfigStore): ReadonlyMap<string, T> {
    return store.shared(this.name) as ReadonlyMap<string, T>;
  }

  get(store: ConfigStore, field: string): T | undefined {
    return store.shared(this.name).get(field) as T | undefined;
  }

  has(store: ConfigStore, field: string): boolean {
    return store.shared(this.name).has(field);
  }

  size(store: ConfigStore): number {
    return store.shared(this.name).size;
  }

  values(store: ConfigStore): T[] {
    return [...store.shared(this.name).values()] as T[];
  }

  entries(store: ConfigStore): [string, T][] {
    return [...store.shared(this.name)] as [string, T][];
  }

  /** Sets (a value) or removes (undefined) fields atomically; fenced writes fail once the fence is lost. */
  put(
    store: ConfigStore,
    fields: readonly (readonly [string, T | undefined])[],
    fence?: string,
  ): Promise<void> {
    return store.putShared(this.name, fields as readonly (readonly [string, JsonValue | undefined])[], fence);
  }

  /** A change of this namespace, typed; undefined for a change of another. */
  changed(change: SharedChange): { readonly field: string; readonly value: T | undefined } | undefined {
    return change.ns === this.name
      ? { field: change.field, value: change.value as T | undefined }
      : undefined;
  }
}
