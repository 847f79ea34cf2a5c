import type { Unary } from '../commands/unary';
import type { AdminServer, Engine, EntryChange } from '../../../gen/nerve/admin/v1/admin';
import type { EntryDiff } from '../../model/config';
import { echo } from '../../model/echo';
import { NerveError } from '../../model/errors';
import type { AdminService } from './admin-service';
import type { EngineView } from '../views/engine-views';

type ConfigHandlers = Pick<
  AdminServer,
  | 'createEngine'
  | 'replaceEngine'
  | 'patchEngine'
  | 'deleteEngine'
  | 'applyBatch'
  | 'listConfigVersions'
  | 'getConfigVersion'
  | 'diffConfig'
  | 'rollbackConfig'
  | 'exportConfig'
  | 'importConfig'
  | 'reseedStore'
>;

/** A JSON field of a request, or INVALID_ARGUMENT naming it. */
function json(field: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new NerveError('INVALID_ARGUMENT', `${field} is not JSON: ${echo((err as Error).message, 120)}`);
  }
}

const optional = (n: number): number | undefined => (n === 0 ? undefined : n);

const change = (c: Pick<EntryDiff, 'kind' | 'name' | 'change'> & Partial<EntryDiff>): EntryChange => ({
  kind: c.kind,
  name: c.name,
  change: c.change,
  paths: [...(c.paths ?? [])],
  beforeJson: c.before === undefined ? '' : JSON.stringify(c.before),
  afterJson: c.after === undefined ? '' : JSON.stringify(c.after),
});

/** The write path and the versioned configuration over admin gRPC: the same SpecAdmin and ConfigAdmin as REST. */
export function configHandlers(
  admin: AdminService,
  unary: Unary,
  toProto: (v: EngineView) => Engine,
): ConfigHandlers {
  const engine = (spec: Parameters<AdminService['views']['view']>[0]) => ({
    engine: toProto(admin.views.view(spec)),
  });
  return {
    createEngine: unary(async (r, ctx) =>
      engine(await admin.specs.create(json('spec_json', r.specJson), ctx)),
    ),
    replaceEngine: unary(async (r, ctx) =>
      engine(await admin.specs.replace(r.name, json('spec_json', r.specJson), optional(r.ifMatch), ctx)),
    ),
    patchEngine: unary(async (r, ctx) =>
      engine(await admin.specs.patch(r.name, json('patch_json', r.patchJson), optional(r.ifMatch), ctx)),
    ),
    deleteEngine: unary(async (r, ctx) => ({
      version: await admin.specs.delete(r.name, optional(r.ifMatch), ctx),
    })),
    applyBatch: unary(async (r, ctx) => ({
      version: (await admin.specs.batch(json('batch_json', r.batchJson), optional(r.ifMatchVersion), ctx))
        .version,
    })),
    listConfigVersions: unary(async (r) => {
      const page = await admin.config.history(r.limit || 100, optional(r.before));
      return {
        versions: page.versions.map((v) => ({ ...v, atMs: Date.parse(v.at) })),
      };
    }),
    getConfigVersion: unary(async (r) => {
      const at = await admin.config.at(r.version);
      return {
        version: at.version ? { ...at.version, atMs: Date.parse(at.version.at) } : undefined,
        documentJson: JSON.stringify(at.config),
      };
    }),
    diffConfig: unary(async (r) => ({
      changes: (await admin.config.diff(r.from, r.to)).changes.map(change),
    })),
    rollbackConfig: unary(async (r, ctx) => {
      const result = await admin.config.rollback(r.version, optional(r.ifMatchVersion), ctx);
      return { version: result.version, changes: result.changes.map(change) };
    }),
    exportConfig: unary(async () => ({ documentJson: JSON.stringify(admin.config.export()) })),
    importConfig: unary(async (r, ctx) => {
      const result = await admin.config.import(
        json('document_json', r.documentJson),
        r.dryRun,
        optional(r.ifMatchVersion),
        ctx,
      );
      return {
        version: result.version,
        changes: result.changes.map(change),
        dryRun: result.dryRun,
        restored: result.restored === true,
      };
    }),
    reseedStore: unary(async (_r, ctx) => admin.config.reseed(ctx)),
  };
}
