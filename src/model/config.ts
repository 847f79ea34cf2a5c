/**
 * The configuration as a versioned log, free of I/O. Everything the control plane keeps (engine specs
 * now; alert rules, channels, rollouts, API keys later) is an entry of some kind, stored as JSON in its
 * input form. Every change is one record with the next global version; an entry's revision is the
 * version that last wrote it, so revisions are monotonic per entry and across deletes.
 */

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface ConfigEntry {
  readonly kind: string;
  readonly name: string;
  /** The config version that last wrote this entry. */
  readonly revision: number;
  readonly value: JsonValue;
}

export type ConfigOp =
  | { readonly op: 'put'; readonly kind: string; readonly name: string; readonly value: JsonValue }
  | { readonly op: 'delete'; readonly kind: string; readonly name: string };

export interface ChangeMeta {
  /** Unix ms. */
  readonly at: number;
  /** Who: an API key or JWT subject, `config file`, `registration`, a peer address… */
  readonly actor: string;
  /** One line for history listings. */
  readonly summary: string;
}

export interface ChangeRecord extends ChangeMeta {
  readonly version: number;
  readonly ops: readonly ConfigOp[];
  /** Set on the first record of a new store generation (a reseed or a restore). */
  readonly generation?: string;
}

export const entryKey = (kind: string, name: string): string => `${kind}/${name}`;

/** Entries by key at one version. Mutable only through `apply`, which keeps version and revisions right. */
export class ConfigState {
  version = 0;
  readonly entries = new Map<string, ConfigEntry>();

  static from(version: number, entries: Iterable<ConfigEntry>): ConfigState {
    const state = new ConfigState();
    state.version = version;
    for (const e of entries) state.entries.set(entryKey(e.kind, e.name), e);
    return state;
  }

  /** Applies the record that follows this state; throws on a gap so that no replica skips a change. */
  apply(record: ChangeRecord): void {
    if (record.version !== this.version + 1)
      throw new Error(`change ${record.version} does not follow version ${this.version}`);
    for (const op of record.ops) {
      const key = entryKey(op.kind, op.name);
      if (op.op === 'put')
        this.entries.set(key, { kind: op.kind, name: op.name, revision: record.version, value: op.value });
      else this.entries.delete(key);
    }
    this.version = record.version;
  }

  get(kind: string, name: string): ConfigEntry | undefined {
    return this.entries.get(entryKey(kind, name));
  }

  /** Entries of one kind (every kind when omitted), sorted by name. */
  list(kind?: string): ConfigEntry[] {
    const out = [...this.entries.values()].filter((e) => kind === undefined || e.kind === kind);
    return out.sort((a, b) =>
      a.kind === b.kind ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.kind < b.kind ? -1 : 1,
    );
  }

  clone(): ConfigState {
    return ConfigState.from(this.version, this.entries.values());
  }
}

/** Replays records 1..n into a state: the whole configuration at version n. */
export function replay(records: readonly ChangeRecord[]): ConfigState {
  const state = new ConfigState();
  for (const r of records) state.apply(r);
  return state;
}

/** Canonical JSON (sorted keys): equal values always print the same, so they compare as strings. */
export function canonicalJson(value: JsonValue): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
}

/** The ops that turn `from` into `to`: puts for entries added or changed, deletes for entries gone. */
export function opsBetween(from: ConfigState, to: ConfigState): ConfigOp[] {
  const ops: ConfigOp[] = [];
  for (const e of to.list()) {
    const before = from.entries.get(entryKey(e.kind, e.name));
    if (!before || canonicalJson(before.value) !== canonicalJson(e.value))
      ops.push({ op: 'put', kind: e.kind, name: e.name, value: e.value });
  }
  for (const e of from.list())
    if (!to.entries.has(entryKey(e.kind, e.name))) ops.push({ op: 'delete', kind: e.kind, name: e.name });
  return ops;
}

export interface EntryDiff {
  readonly kind: string;
  readonly name: string;
  readonly change: 'added' | 'removed' | 'changed';
  /** JSON paths whose values differ (`policy.retry.maxAttempts`, `instances[1].weight`). */
  readonly paths: readonly string[];
  readonly before?: JsonValue;
  readonly after?: JsonValue;
}

/** What changed between two configurations, entry by entry, with the paths that differ. */
export function diffStates(from: ConfigState, to: ConfigState): EntryDiff[] {
  const out: EntryDiff[] = [];
  for (const op of opsBetween(from, to)) {
    const before = from.entries.get(entryKey(op.kind, op.name))?.value;
    const after = op.op === 'put' ? op.value : undefined;
    const change = before === undefined ? 'added' : after === undefined ? 'removed' : 'changed';
    const paths = change === 'changed' ? changedPaths(before!, after!, '') : [];
    out.push({ kind: op.kind, name: op.name, change, paths, before, after });
  }
  return out;
}

function changedPaths(a: JsonValue, b: JsonValue, path: string): string[] {
  const isObj = (v: JsonValue): v is { [k: string]: JsonValue } =>
    v !== null && typeof v === 'object' && !Array.isArray(v);
  if (Array.isArray(a) && Array.isArray(b)) {
    const out: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const p = `${path}[${i}]`;
      if (i >= a.length || i >= b.length) out.push(p);
      else out.push(...changedPaths(a[i], b[i], p));
    }
    return out;
  }
  if (isObj(a) && isObj(b)) {
    const out: string[] = [];
    for (const k of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      const p = path ? `${path}.${k}` : k;
      if (!(k in a) || !(k in b)) out.push(p);
      else out.push(...changedPaths(a[k], b[k], p));
    }
    return out;
  }
  return canonicalJson(a) === canonicalJson(b) ? [] : [path || '.'];
}
