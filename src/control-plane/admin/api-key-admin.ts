import { z } from 'zod';
import { entryKey } from '../../model/config';
import { echo } from '../../model/echo';
import {
  API_KEY_KIND,
  type ApiKeyRecord,
  hashSecret,
  hintOf,
  newSecret,
  type Revocation,
} from '../../model/security/api-key';
import { ALL_ROLES } from '../../model/security/roles';
import { name } from '../../model/validate';
import { parseInput } from '../commands/parse-input';
import type { ConfigStore } from '../../store/config-store';
import { type AdminContext, actorLabel, type Audit } from '../commands/admin-context';
import { NerveError } from '../../model/errors';
import { REVOKED_KEYS } from '../../security/revoked-keys';

export const createApiKeySchema = z.strictObject({ name, role: z.enum(ALL_ROLES) });

/** A key as listings show it: never the secret, nor its hash. */
export interface ApiKeyView {
  readonly name: string;
  readonly role: string;
  readonly hint: string;
  readonly createdAt: string;
  readonly createdBy: string;
  /** Present when the key was revoked and its entry came back (a rollback, an import): it stays refused. */
  readonly revoked?: Revocation;
}

/**
 * API keys: created with a role and shown once, stored hashed as versioned entries (so
 * every replica honours them, and their creation and revocation are in the config history), revoked by
 * deleting them. Keys from the settings (API_KEYS) are not in the store and cannot be changed here.
 */
export class ApiKeyAdmin {
  constructor(
    private readonly store: ConfigStore,
    private readonly staticNames: () => readonly string[],
    private readonly audit: Audit,
  ) {}

  list(): ApiKeyView[] {
    const revoked = REVOKED_KEYS.map(this.store);
    return this.store.list(API_KEY_KIND).map((e) => {
      const record = e.value as unknown as ApiKeyRecord;
      const revocation = revoked.get(record.sha256);
      return revocation ? { ...view(record), revoked: revocation } : view(record);
    });
  }

  async create(input: unknown, ctx: AdminContext): Promise<ApiKeyView & { key: string }> {
    const { name: keyName, role } = parseInput(createApiKeySchema, input, 'API key');
    if (this.store.get(API_KEY_KIND, keyName) || this.staticNames().includes(keyName))
      throw new NerveError('ALREADY_EXISTS', `API key ${echo(keyName)} already exists`);
    const key = newSecret();
    const record: ApiKeyRecord = {
      name: keyName,
      role,
      sha256: hashSecret(key),
      hint: hintOf(key),
      createdAt: new Date().toISOString(),
      createdBy: ctx.actor,
    };
    await this.store.commit({
      actor: actorLabel(ctx),
      summary: `create API key ${keyName} (${role})`,
      ops: [{ op: 'put', kind: API_KEY_KIND, name: keyName, value: { ...record } }],
      expect: new Map([[entryKey(API_KEY_KIND, keyName), 0]]),
    });
    this.audit(ctx, 'create API key', { name: keyName, role });
    return { ...view(record), key };
  }

  async revoke(keyName: string, ctx: AdminContext): Promise<void> {
    const current = this.store.get(API_KEY_KIND, keyName);
    if (!current) {
      const hint = this.staticNames().includes(keyName)
        ? ' here (it comes from API_KEYS: change the setting)'
        : '';
      throw new NerveError('NOT_FOUND', `API key ${echo(keyName)} not found${hint}`);
    }
    // The revocation first, outside the versioned configuration: from here on no replica accepts the
    // key, and no rollback or import of an older version can make it work again.
    const record = current.value as unknown as ApiKeyRecord;
    const revocation: Revocation = {
      name: keyName,
      revokedAt: new Date().toISOString(),
      revokedBy: actorLabel(ctx),
    };
    await REVOKED_KEYS.put(this.store, [[record.sha256, { ...revocation }]]);
    await this.store.commit({
      actor: actorLabel(ctx),
      summary: `revoke API key ${keyName}`,
      ops: [{ op: 'delete', kind: API_KEY_KIND, name: keyName }],
      expect: new Map([[entryKey(API_KEY_KIND, keyName), current.revision]]),
    });
    this.audit(ctx, 'revoke API key', { name: keyName });
  }
}

function view(k: ApiKeyRecord): ApiKeyView {
  return { name: k.name, role: k.role, hint: k.hint, createdAt: k.createdAt, createdBy: k.createdBy };
}
