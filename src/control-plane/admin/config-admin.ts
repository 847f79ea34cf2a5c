import {
  type ChangeRecord,
  ConfigState,
  diffStates,
  type EntryDiff,
  type JsonValue,
  opsBetween,
} from '../../model/config';
import { echo } from '../../model/echo';
import type { ConfigStore } from '../../store/config-store';
import { CONFIG_KINDS } from '../../model/kinds/config-kinds';
import { API_KEY_KIND } from '../../model/security/api-key';
import { type AdminContext, actorLabel, type Audit } from '../commands/admin-context';
import { NerveError } from '../../model/errors';
import { REVOKED_KEYS } from '../../security/revoked-keys';

export interface VersionView {
  readonly version: number;
  /** RFC 3339. */
  readonly at: string;
  readonly actor: string;
  readonly summary: string;
}

/** `GET /config/export`: every kind's entries in input form, plus where they were taken from. */
export interface ConfigDocument {
  readonly format: typeof FORMAT;
  readonly version: number;
  readonly exportedAt: string;
  readonly [kind: string]: JsonValue;
}

export interface ImportResult {
  readonly dryRun: boolean;
  /** The version the import created (the current one on a dry run or when nothing changed). */
  readonly version: number;
  readonly changes: readonly { kind: string; name: string; change: EntryDiff['change'] }[];
  /** True when the store had diverged and the document was written whole as a new store generation. */
  readonly restored?: boolean;
  /** How many entries the store holds from the document (a restore writes every one). */
  readonly entries?: number;
}

export interface ReseedResult {
  readonly version: number;
  readonly generation: string;
  /** The store's state before: diverged, or ok for a deliberate reseed. */
  readonly previousState: string;
  readonly entries: number;
}

const FORMAT = 'nerve-config/v1';
const MAX_HISTORY_PAGE = 1000;

const view = (r: ChangeRecord): VersionView => ({
  version: r.version,
  at: new Date(r.at).toISOString(),
  actor: r.actor,
  summary: r.summary,
});

/**
 * The configuration as a versioned log: its history, the whole configuration at any version, the
 * difference between two, rollback (the configuration of a version becomes the newest one), and export
 * and import (validated whole, applied as one version or not at all).
 */
export class ConfigAdmin {
  constructor(
    private readonly store: ConfigStore,
    private readonly audit: Audit,
  ) {}

  /** Changes newest first: `limit` (1-1000, default 100) of them before version `before`. */
  async history(
    limit = 100,
    before?: number,
  ): Promise<{ versions: VersionView[]; nextBefore: number | null }> {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_HISTORY_PAGE)
      throw new NerveError('INVALID_ARGUMENT', `limit must be an integer from 1 to ${MAX_HISTORY_PAGE}`);
    const newest = Math.min(this.store.version(), before === undefined ? Infinity : before - 1);
    const oldest = Math.max(1, newest - limit + 1);
    const records = newest < 1 ? [] : await this.store.changes(oldest, newest);
    return { versions: records.reverse().map(view), nextBefore: oldest > 1 ? oldest : null };
  }

  /** The whole configuration at a version (0: empty). */
  async at(version: number): Promise<{ version: VersionView | null; config: ConfigDocument }> {
    const state = await this.stateAt(version);
    const record = version === 0 ? undefined : (await this.store.changes(version, version))[0];
    return { version: record ? view(record) : null, config: document(state) };
  }

  async diff(from: number, to: number): Promise<{ from: number; to: number; changes: EntryDiff[] }> {
    const [a, b] = await this.statesAt([from, to]);
    return { from, to, changes: diffStates(a, b) };
  }

  /** Makes the configuration of `version` the newest, as a new version; `ifMatch`: the version read. */
  async rollback(version: number, ifMatch: number | undefined, ctx: AdminContext): Promise<ImportResult> {
    const target = await this.stateAt(version);
    const current = this.store.version();
    return this.commitState(target, ifMatch ?? current, ctx, `rollback to version ${version}`, false);
  }

  export(): ConfigDocument {
    return document(ConfigState.from(this.store.version(), this.store.list()));
  }

  /**
   * Replaces the whole configuration with a document: every entry validated first (errors name
   * `engines[i].field`), then applied as one version, or only checked with `dryRun`.
   */
  async import(input: unknown, dryRun: boolean, ifMatch: number | undefined, ctx: AdminContext) {
    const target = parseDocument(input);
    const summary = `import: ${[...CONFIG_KINDS.keys()].map((k) => `${target.list(k).length} ${k}`).join(', ')}`;
    // A store that lost or changed its data cannot take a difference against this replica's memory
    // (it would write nothing, or only part): the backup is written whole, as a new store generation.
    if (!dryRun && this.store.status().state === 'diverged') return this.restore(target, ctx, summary);
    return this.commitState(target, ifMatch ?? this.store.version(), ctx, summary, dryRun);
  }

  /**
   * POST /config/store/reseed: writes this replica's whole configuration and shared state into the
   * store as a new generation, the way on from a store that lost its data when no backup is newer than
   * what the replicas hold. Every replica that followed the store adopts it.
   */
  async reseed(ctx: AdminContext): Promise<ReseedResult> {
    const before = this.store.status();
    const record = await this.store.reseed({
      actor: actorLabel(ctx),
      summary: `reseed the store from replica state at version ${this.store.version()}`,
    });
    this.audit(ctx, 'reseed store', { version: record.version, previousState: before.state });
    return {
      version: record.version,
      generation: this.store.status().generation ?? '',
      previousState: before.state,
      entries: this.store.list().length,
    };
  }

  private async restore(target: ConfigState, ctx: AdminContext, summary: string): Promise<ImportResult> {
    const current = ConfigState.from(this.store.version(), this.store.list());
    const changes = diffStates(current, target).map((d) => ({
      kind: d.kind,
      name: d.name,
      change: d.change,
    }));
    const record = await this.store.reseed({
      actor: actorLabel(ctx),
      summary: `restore (the store had diverged): ${summary.slice('import: '.length)}`,
      entries: target.list().map((e) => ({ kind: e.kind, name: e.name, value: e.value })),
    });
    this.audit(ctx, 'restore', {
      version: record.version,
      changes: changes.length,
      entries: target.list().length,
    });
    return { dryRun: false, version: record.version, changes, restored: true, entries: target.list().length };
  }

  private async commitState(
    target: ConfigState,
    expectVersion: number,
    ctx: AdminContext,
    summary: string,
    dryRun: boolean,
  ): Promise<ImportResult> {
    const current = ConfigState.from(this.store.version(), this.store.list());
    const changes = diffStates(current, target).map((d) => ({
      kind: d.kind,
      name: d.name,
      change: d.change,
    }));
    const ops = opsBetween(current, target);
    if (dryRun || ops.length === 0) return { dryRun, version: current.version, changes };
    // Keys revoked since the target version come back as entries but stay refused: say so.
    const revoked = REVOKED_KEYS.map(this.store);
    const stayRevoked = target
      .list(API_KEY_KIND)
      .filter((e) => revoked.has((e.value as { sha256?: string }).sha256 ?? ''))
      .map((e) => e.name);
    const noted =
      stayRevoked.length > 0 ? `${summary} (revoked keys stay revoked: ${stayRevoked.join(', ')})` : summary;
    const record = await this.store.commit({ actor: actorLabel(ctx), summary: noted, ops, expectVersion });
    this.audit(ctx, summary.split(':')[0], {
      version: record.version,
      changes: changes.length,
      entries: changes
        .slice(0, 50)
        .map((c) => `${c.change} ${c.kind}/${c.name}`)
        .join(', '),
      ...(stayRevoked.length > 0 && { revokedKeysKept: stayRevoked.join(', ') }),
    });
    return { dryRun, version: record.version, changes };
  }

  private async stateAt(version: number): Promise<ConfigState> {
    return (await this.statesAt([version]))[0];
  }

  /** The configurations at several versions, from one read of the log and one replay through it. */
  private async statesAt(versions: readonly number[]): Promise<ConfigState[]> {
    const newest = this.store.version();
    for (const version of versions)
      if (!Number.isInteger(version) || version < 0 || version > newest)
        throw new NerveError(
          'NOT_FOUND',
          `no configuration version ${echo(String(version), 20)} (newest: ${newest})`,
        );
    const last = Math.max(...versions);
    const records = last === 0 ? [] : await this.store.changes(1, last);
    if (records.length !== last)
      throw new NerveError('FAILED_PRECONDITION', `the history before version ${last} is incomplete`);
    const state = new ConfigState();
    const at = new Map<number, ConfigState>([[0, state.clone()]]);
    for (const record of records) {
      state.apply(record);
      if (versions.includes(record.version)) at.set(record.version, state.clone());
    }
    return versions.map((v) => at.get(v)!);
  }
}

function document(state: ConfigState): ConfigDocument {
  const doc: Record<string, JsonValue> = {
    format: FORMAT,
    version: state.version,
    exportedAt: new Date().toISOString(),
  };
  for (const kind of CONFIG_KINDS.keys()) doc[kind] = state.list(kind).map((e) => e.value);
  return doc as ConfigDocument;
}

/** Validates an export document whole into the state it describes; every problem is listed. */
function parseDocument(input: unknown): ConfigState {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new NerveError(
      'INVALID_ARGUMENT',
      'a configuration document must be a JSON object (GET /config/export)',
    );
  const doc = input as Record<string, unknown>;
  const errors: string[] = [];
  if (doc.format !== undefined && doc.format !== FORMAT)
    errors.push(`format: must be "${FORMAT}", got ${echo(JSON.stringify(doc.format), 40)}`);
  for (const key of Object.keys(doc))
    if (!CONFIG_KINDS.has(key) && !['format', 'version', 'exportedAt'].includes(key))
      errors.push(`${echo(key, 40)}: unknown section (known: ${[...CONFIG_KINDS.keys()].join(', ')})`);
  const state = new ConfigState();
  for (const [kind, spec] of CONFIG_KINDS) {
    const list = doc[kind] ?? [];
    if (!Array.isArray(list)) {
      errors.push(`${kind}: must be an array`);
      continue;
    }
    list.forEach((item, i) => {
      const parsed = spec.validate(item, `${kind}[${i}]`);
      if (!parsed.ok) return errors.push(...parsed.errors);
      const name = spec.nameOf(parsed.value);
      const key = `${kind}/${name}`;
      if (state.entries.has(key)) return errors.push(`${kind}[${i}].name: duplicate ${echo(name)}`);
      state.entries.set(key, { kind, name, revision: 0, value: parsed.value });
    });
  }
  if (errors.length > 0)
    throw new NerveError('INVALID_ARGUMENT', `import refused, nothing applied: ${errors.join('; ')}`, errors);
  return state;
}
