import { canonicalJson, type ConfigEntry, entryKey, type JsonValue } from '../../model/config';
import { echo } from '../../model/echo';
import { mergePatch } from '../../model/engine-document';
import type { ConfigStore } from '../../store/config-store';
import { CONFIG_KINDS } from '../../model/kinds/config-kinds';
import { type AdminContext, actorLabel, type Audit } from './admin-context';
import { NerveError } from '../../model/errors';

/** A stored entry as the API shows it: its document and its revision (the ETag). */
export interface EntryView {
  readonly value: JsonValue;
  readonly revision: number;
}

/**
 * Writes and reads of the kinds served as plain entries (alert rules, channels, silences, inhibit rules):
 * each validated by its kind and committed as one version, with `ifMatch` as the revision the caller
 * read (409 when stale). `what` names the kind in messages ("alert rule").
 */
export class EntryAdmin {
  constructor(
    private readonly store: ConfigStore,
    private readonly kind: string,
    private readonly what: string,
    private readonly audit: Audit,
    /** Awaited after each committed write or delete, before the answer: what derives from the kind is current. */
    private readonly settled: () => Promise<void> = async () => undefined,
  ) {}

  list(): EntryView[] {
    return this.store.list(this.kind).map((e) => this.view(e));
  }

  get(name: string): EntryView {
    return this.view(this.stored(name));
  }

  private stored(name: string): ConfigEntry {
    const e = this.store.get(this.kind, name);
    if (!e) throw new NerveError('NOT_FOUND', `${this.what} ${echo(name)} not found`);
    return e;
  }

  /** What every reader sees: secrets redacted (write-only). */
  private view(e: ConfigEntry): EntryView {
    const redact = CONFIG_KINDS.get(this.kind)!.redact;
    return { value: redact ? redact(e.value) : e.value, revision: e.revision };
  }

  /** A document written back as a read showed it keeps the stored secrets. */
  private withSecrets(input: unknown, name: string): unknown {
    const keep = CONFIG_KINDS.get(this.kind)!.keepSecrets;
    return keep ? keep(input, this.store.get(this.kind, name)?.value) : input;
  }

  async create(input: unknown, ctx: AdminContext): Promise<EntryView> {
    const complete = CONFIG_KINDS.get(this.kind)!.complete;
    const value = this.validate(complete ? complete(input, Date.now()) : input);
    this.checkWrite(value);
    const name = CONFIG_KINDS.get(this.kind)!.nameOf(value);
    if (this.store.get(this.kind, name))
      throw new NerveError('ALREADY_EXISTS', `${this.what} ${echo(name)} already exists`);
    return this.write(name, value, 0, `create ${this.what} ${name}`, ctx);
  }

  async replace(
    name: string,
    input: unknown,
    ifMatch: number | undefined,
    ctx: AdminContext,
  ): Promise<EntryView> {
    const complete = CONFIG_KINDS.get(this.kind)!.complete;
    const named = withName(input, this.nameField(), name);
    const value = this.validate(this.withSecrets(complete ? complete(named, Date.now()) : named, name));
    this.checkWrite(value);
    const current = this.store.get(this.kind, name);
    return this.write(
      name,
      value,
      ifMatch ?? current?.revision ?? 0,
      `${current ? 'replace' : 'create'} ${this.what} ${name}`,
      ctx,
    );
  }

  /** RFC 7386 merge patch of the stored document. */
  async patch(
    name: string,
    patch: unknown,
    ifMatch: number | undefined,
    ctx: AdminContext,
  ): Promise<EntryView> {
    if (patch === null || typeof patch !== 'object' || Array.isArray(patch))
      throw new NerveError('INVALID_ARGUMENT', 'a merge patch must be a JSON object');
    // Onto the stored document (secrets whole); a patch that sends back a redacted secret keeps it.
    const current = this.stored(name);
    const value = this.validate(
      this.withSecrets(withName(mergePatch(current.value, patch as JsonValue), this.nameField(), name), name),
    );
    this.checkWrite(value);
    return this.write(name, value, ifMatch ?? current.revision, `patch ${this.what} ${name}`, ctx);
  }

  async delete(name: string, ifMatch: number | undefined, ctx: AdminContext): Promise<void> {
    const current = this.stored(name);
    await this.store.commit({
      actor: actorLabel(ctx),
      summary: `delete ${this.what} ${name}`,
      ops: [{ op: 'delete', kind: this.kind, name }],
      expect: new Map([[entryKey(this.kind, name), ifMatch ?? current.revision]]),
    });
    this.audit(ctx, `delete ${this.what}`, { name });
    await this.settled();
  }

  private async write(name: string, value: JsonValue, expected: number, summary: string, ctx: AdminContext) {
    const current = this.store.get(this.kind, name);
    if (current && canonicalJson(current.value) === canonicalJson(value) && expected === current.revision)
      return this.view(current);
    await this.store.commit({
      actor: actorLabel(ctx),
      summary,
      ops: [{ op: 'put', kind: this.kind, name, value }],
      expect: new Map([[entryKey(this.kind, name), expected]]),
    });
    this.audit(ctx, summary.split(' ')[0] + ` ${this.what}`, { name });
    await this.settled();
    return this.view(this.store.get(this.kind, name)!);
  }

  private validate(input: unknown): JsonValue {
    const parsed = CONFIG_KINDS.get(this.kind)!.validate(input, '');
    if (!parsed.ok)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `invalid ${this.what}: ${parsed.errors.join('; ')}`,
        parsed.errors,
      );
    return parsed.value;
  }

  /** What an API write must also meet beyond the schema (imports restore what was, unchecked). */
  private checkWrite(value: JsonValue): void {
    const problem = CONFIG_KINDS.get(this.kind)!.checkWrite?.(value, Date.now());
    if (problem) throw new NerveError('INVALID_ARGUMENT', `invalid ${this.what}: ${problem}`);
  }

  private nameField(): string {
    return CONFIG_KINDS.get(this.kind)!.entry?.nameField ?? 'name';
  }
}

function withName(input: unknown, field: string, name: string): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const given = (input as Record<string, unknown>)[field];
  if (given !== undefined && given !== name)
    throw new NerveError(
      'INVALID_ARGUMENT',
      `${field} ${echo(String(given))} does not match the path's ${echo(name)}`,
    );
  return { ...input, [field]: name };
}
