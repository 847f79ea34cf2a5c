import { z } from 'zod';
import type { JsonValue } from '../../model/config';
import { echo } from '../../model/echo';
import { ENGINE_KIND } from '../../model/engine-document';
import type { EngineSpec } from '../../model/engine';
import type { EngineCatalog } from '../config/engine-catalog';
import type { AdminContext } from '../commands/admin-context';
import { NerveError } from '../../model/errors';
import { parseInput } from '../commands/parse-input';
import type { SpecAdmin } from './spec-admin';

type Doc = Record<string, JsonValue>;

export const versionBodySchema = z.strictObject({
  name: z.string().min(1).max(63),
  weight: z.number().int().min(0).max(1_000_000),
});
export const versionWeightSchema = z.strictObject({ weight: z.number().int().min(0).max(1_000_000) });

/**
 * The parts of an engine spec as resources of their own (versions, the policy): each change reads the
 * stored document, changes its part and writes the whole through SpecAdmin.replace, so it is validated,
 * versioned, audited and checked against If-Match like any spec write.
 */
export class SpecPartsAdmin {
  constructor(
    private readonly specs: SpecAdmin,
    private readonly engines: EngineCatalog,
  ) {}

  async addVersion(engine: string, input: unknown, ifMatch: number | undefined, ctx: AdminContext) {
    const v = parseInput(versionBodySchema, input, 'version');
    return this.edit(engine, ifMatch, ctx, (doc) => {
      const versions = (doc.versions as { name: string }[] | undefined) ?? [];
      if (versions.some((x) => x.name === v.name))
        throw new NerveError('ALREADY_EXISTS', `engine ${echo(engine)} already has version ${echo(v.name)}`);
      return { ...doc, versions: [...versions, v] };
    });
  }

  async setVersionWeight(
    engine: string,
    version: string,
    input: unknown,
    ifMatch: number | undefined,
    ctx: AdminContext,
  ) {
    const { weight } = parseInput(versionWeightSchema, input, 'version weight');
    return this.edit(engine, ifMatch, ctx, (doc) => ({
      ...doc,
      versions: this.versions(doc, engine, version).map((x) => (x.name === version ? { ...x, weight } : x)),
    }));
  }

  async removeVersion(engine: string, version: string, ifMatch: number | undefined, ctx: AdminContext) {
    return this.edit(engine, ifMatch, ctx, (doc) => ({
      ...doc,
      versions: this.versions(doc, engine, version).filter((x) => x.name !== version),
    }));
  }

  /** Replaces the whole policy (PUT); `undefined` returns it to the defaults (DELETE). */
  async setPolicy(engine: string, policy: unknown, ifMatch: number | undefined, ctx: AdminContext) {
    if (policy !== undefined && (policy === null || typeof policy !== 'object' || Array.isArray(policy)))
      throw new NerveError('INVALID_ARGUMENT', 'a policy must be a JSON object');
    return this.edit(engine, ifMatch, ctx, (doc) => {
      const next = { ...doc };
      if (policy === undefined) delete next.policy;
      else next.policy = policy as JsonValue;
      return next;
    });
  }

  private versions(doc: Doc, engine: string, version: string): { name: string; weight: number }[] {
    const versions = (doc.versions as { name: string; weight: number }[] | undefined) ?? [];
    if (!versions.some((x) => x.name === version))
      throw new NerveError('NOT_FOUND', `engine ${echo(engine)} has no version ${echo(version)}`);
    return versions;
  }

  private async edit(
    engine: string,
    ifMatch: number | undefined,
    ctx: AdminContext,
    change: (doc: Doc) => Doc,
  ): Promise<EngineSpec> {
    const entry = this.engines.store.get(ENGINE_KIND, engine);
    if (!entry) throw new NerveError('NOT_FOUND', `engine ${echo(engine)} not found`);
    const doc = change(structuredClone(entry.value) as Doc);
    return this.specs.replace(engine, doc, ifMatch ?? entry.revision, ctx);
  }
}
