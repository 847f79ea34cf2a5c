import { canonicalJson, type ConfigOp, type JsonValue } from '../../model/config';
import { echo } from '../../model/echo';
import type { EngineSpec } from '../../model/engine';
import { ENGINE_KIND, mergePatch, toDocument } from '../../model/engine-document';
import { parseEngineSpec } from '../../model/validate';
import { viewAsInput } from '../../model/engine-view-input';
import { RevisionConflictError, VersionConflictError } from '../../store/config-store';
import { type EngineCatalog, engineKey } from '../config/engine-catalog';
import { type AdminContext, actorLabel, type Audit } from '../commands/admin-context';
import { NerveError } from '../../model/errors';

export interface BatchOperation {
  readonly op: 'put' | 'patch' | 'delete';
  readonly engine: string;
  readonly spec?: unknown;
  /** The revision the caller read (optimistic concurrency for this engine). */
  readonly revision?: number;
}

export interface BatchResult {
  readonly version: number;
  readonly engines: readonly { name: string; revision: number; deleted: boolean }[];
}

const OPS = new Set(['put', 'patch', 'delete']);
const MAX_BATCH = 1000;
const RETRIES = 5;

/**
 * Writes of engine specs: create, replace, merge-patch (RFC 7386), delete and atomic batches, each
 * validated by the config file's schema and committed as one version. `ifMatch` is the revision the
 * caller read; without it a write is checked against the revision read here (no lost update).
 */
export class SpecAdmin {
  constructor(
    private readonly engines: EngineCatalog,
    private readonly audit: Audit,
  ) {}

  async create(input: unknown, ctx: AdminContext): Promise<EngineSpec> {
    const spec = this.parse(input, '');
    if (this.engines.store.get(ENGINE_KIND, spec.name))
      throw new NerveError('ALREADY_EXISTS', `engine ${echo(spec.name)} already exists (PUT replaces it)`);
    const stored = await this.engines.put(
      spec,
      { actor: actorLabel(ctx), summary: `create engine ${spec.name}` },
      0,
    );
    this.audit(ctx, 'create engine', { engine: spec.name, revision: stored.revision });
    return stored;
  }

  /** Create or replace: the body is the whole spec (its name, when given, must be the path's). */
  /**
   * Replaces the spec. The document may be input, or an engine exactly as GET answered it (see
   * viewAsInput); an unchanged spec writes nothing and answers the stored one (GET then PUT is a no-op).
   */
  async replace(name: string, input: unknown, ifMatch: number | undefined, ctx: AdminContext) {
    const before = this.engines.store.get(ENGINE_KIND, name);
    const spec = this.parse(withName(viewAsInput(input, before?.value), name), '');
    if (before && canonicalJson(before.value) === canonicalJson(toDocument(spec))) {
      if (ifMatch !== undefined && ifMatch !== before.revision)
        throw new RevisionConflictError(engineKey(name), ifMatch, before.revision);
      return this.require(name);
    }
    const existed = before !== undefined;
    const summary = `${existed ? 'replace' : 'create'} engine ${name}`;
    const stored = await this.engines.put(
      spec,
      { actor: actorLabel(ctx), summary },
      ifMatch ?? this.revision(name),
    );
    this.audit(ctx, existed ? 'replace engine' : 'create engine', {
      engine: name,
      revision: stored.revision,
    });
    return stored;
  }

  /** RFC 7386 merge patch of the stored spec (null removes a field, arrays replace). */
  async patch(name: string, patch: unknown, ifMatch: number | undefined, ctx: AdminContext) {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
      throw new NerveError('INVALID_ARGUMENT', 'a merge patch must be a JSON object');
    for (let attempt = 0; ; attempt++) {
      const current = await this.require(name);
      const { spec, paths } = this.patched(current, patch as JsonValue, '');
      if (ifMatch !== undefined && ifMatch !== current.revision)
        throw new RevisionConflictError(engineKey(name), ifMatch, current.revision);
      const summary = `patch engine ${name}: ${summarizePaths(paths)}`;
      try {
        const stored = await this.engines.put(spec, { actor: actorLabel(ctx), summary }, current.revision);
        this.audit(ctx, 'patch engine', { engine: name, revision: stored.revision, fields: paths.join(',') });
        return stored;
      } catch (err) {
        if (ifMatch !== undefined || !(err instanceof RevisionConflictError) || attempt >= RETRIES) throw err;
      }
    }
  }

  /** Deletes the engine; returns the version of the change. */
  async delete(name: string, ifMatch: number | undefined, ctx: AdminContext): Promise<number> {
    const current = await this.require(name);
    await this.engines.delete(
      name,
      { actor: actorLabel(ctx), summary: `delete engine ${name}` },
      ifMatch ?? current.revision,
    );
    this.audit(ctx, 'delete engine', { engine: name });
    return this.engines.store.version();
  }

  /**
   * Applies every operation or none. Each is validated first (errors name `operations[i]`); then all are
   * committed as one version, checked against the revisions given or read, and the configuration
   * version when `ifMatchVersion` is given.
   */
  async batch(input: unknown, ifMatchVersion: number | undefined, ctx: AdminContext): Promise<BatchResult> {
    const list = (input as { operations?: unknown } | null)?.operations;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_BATCH)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `a batch is {"operations":[{"op":"put|patch|delete","engine","spec"?,"revision"?}…]} with 1 to ${MAX_BATCH} operations`,
      );
    for (let attempt = 0; ; attempt++) {
      const store = this.engines.store;
      const version = store.version();
      const { ops, expect, explicit } = this.planBatch(list);
      const summary = `batch: ${ops.map((o) => `${o.op} ${o.name}`).join(', ')}`;
      try {
        const record = await store.commit({
          actor: actorLabel(ctx),
          summary: summary.length > 200 ? `${summary.slice(0, 197)}...` : summary,
          ops,
          expect,
          expectVersion: ifMatchVersion ?? (explicit ? undefined : version),
        });
        this.audit(ctx, 'batch', { operations: ops.length, version: record.version });
        return {
          version: record.version,
          engines: ops.map((o) => ({ name: o.name, revision: record.version, deleted: o.op === 'delete' })),
        };
      } catch (err) {
        const retry = ifMatchVersion === undefined && !explicit && attempt < RETRIES;
        if (!retry || !(err instanceof RevisionConflictError || err instanceof VersionConflictError))
          throw err;
      }
    }
  }

  private planBatch(list: readonly unknown[]) {
    const errors: string[] = [];
    const ops: ConfigOp[] = [];
    const expect = new Map<string, number>();
    const seen = new Set<string>();
    const byName = new Map(this.engines.listNow().map((spec) => [spec.name, spec]));
    let explicit = false;
    list.forEach((raw, i) => {
      const at = `operations[${i}]`;
      const o = raw as Partial<BatchOperation> | null;
      if (o === null || typeof o !== 'object' || !OPS.has(String(o.op)) || typeof o.engine !== 'string') {
        errors.push(`${at}: needs "op" (put, patch or delete) and "engine"`);
        return;
      }
      if (seen.has(o.engine)) errors.push(`${at}: engine ${echo(o.engine)} appears twice in the batch`);
      seen.add(o.engine);
      if (o.revision !== undefined && (!Number.isInteger(o.revision) || o.revision < 0)) {
        errors.push(`${at}.revision: must be a whole number`);
        return;
      }
      const current = this.engines.store.get(ENGINE_KIND, o.engine);
      if (o.revision !== undefined) explicit = true;
      expect.set(engineKey(o.engine), o.revision ?? current?.revision ?? 0);
      try {
        if (o.op === 'delete') {
          if (!current) throw new NerveError('NOT_FOUND', `engine ${echo(o.engine)} not found`);
          ops.push({ op: 'delete', kind: ENGINE_KIND, name: o.engine });
        } else if (o.op === 'put') {
          const spec = this.parse(withName(o.spec, o.engine), `${at}.spec`);
          ops.push({ op: 'put', kind: ENGINE_KIND, name: o.engine, value: toDocument(spec) });
        } else {
          const existing = byName.get(o.engine);
          if (!existing) throw new NerveError('NOT_FOUND', `engine ${echo(o.engine)} not found`);
          const { spec } = this.patched(existing, o.spec as JsonValue, `${at}.spec`);
          ops.push({ op: 'put', kind: ENGINE_KIND, name: o.engine, value: toDocument(spec) });
        }
      } catch (err) {
        if (!(err instanceof NerveError)) throw err;
        if (err.details.length > 0) errors.push(...err.details);
        else errors.push(`${at}: ${err.message}`);
      }
    });
    if (errors.length > 0)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `batch refused, nothing applied: ${errors.join('; ')}`,
        errors,
      );
    return { ops, expect, explicit };
  }

  private patched(
    current: EngineSpec,
    patch: JsonValue,
    prefix: string,
  ): { spec: EngineSpec; paths: string[] } {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
      throw new NerveError(
        'INVALID_ARGUMENT',
        `${prefix ? `${prefix}: ` : ''}a merge patch must be a JSON object`,
      );
    const before = toDocument(current);
    const merged = mergePatch(before, patch);
    if ((merged as { name?: unknown }).name !== current.name)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `${prefix ? `${prefix}.` : ''}name: an engine cannot be renamed by a patch`,
      );
    const spec = this.parse(merged, prefix);
    const paths = Object.keys(patch).filter(
      (k) =>
        canonicalJson((before as Record<string, JsonValue>)[k] ?? null) !==
        canonicalJson((toDocument(spec) as Record<string, JsonValue>)[k] ?? null),
    );
    return { spec, paths };
  }

  private parse(input: unknown, prefix: string): EngineSpec {
    const parsed = parseEngineSpec(input, prefix);
    if (!parsed.ok)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `invalid engine spec: ${parsed.errors.join('; ')}`,
        parsed.errors,
      );
    return parsed.value;
  }

  private revision(name: string): number {
    return this.engines.store.get(ENGINE_KIND, name)?.revision ?? 0;
  }

  private async require(name: string): Promise<EngineSpec> {
    const spec = await this.engines.get(name);
    if (!spec) throw new NerveError('NOT_FOUND', `engine ${echo(name)} not found`);
    return spec;
  }
}

/** The body's name must be the path's; a body without one takes it. */
function withName(input: unknown, name: string): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input))
    throw new NerveError('INVALID_ARGUMENT', 'an engine spec must be a JSON object');
  const given = (input as { name?: unknown }).name;
  if (given !== undefined && given !== name)
    throw new NerveError(
      'INVALID_ARGUMENT',
      `name: the spec names ${echo(String(given))}, the path ${echo(name)}`,
    );
  return { ...input, name };
}

function summarizePaths(paths: readonly string[]): string {
  if (paths.length === 0) return 'no change';
  return paths.length > 6 ? `${paths.slice(0, 6).join(', ')} and ${paths.length - 6} more` : paths.join(', ');
}
