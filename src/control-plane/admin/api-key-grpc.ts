import type { Unary } from '../commands/unary';
import type { AdminServer, ApiKey } from '../../../gen/nerve/admin/v1/admin';
import type { AdminService } from './admin-service';
import type { ApiKeyView } from './api-key-admin';

type ApiKeyHandlers = Pick<AdminServer, 'listApiKeys' | 'createApiKey' | 'revokeApiKey'>;

function toProto(k: ApiKeyView): ApiKey {
  return {
    name: k.name,
    role: k.role,
    hint: k.hint,
    createdAt: k.createdAt,
    createdBy: k.createdBy,
    revokedAt: k.revoked?.revokedAt ?? '',
    revokedBy: k.revoked?.revokedBy ?? '',
  };
}

/** API keys on admin gRPC: the same ApiKeyAdmin as REST (validation, hashing, the history). */
export function apiKeyHandlers(admin: AdminService, unary: Unary): ApiKeyHandlers {
  return {
    listApiKeys: unary(async () => ({ keys: admin.apiKeys.list().map(toProto) })),
    createApiKey: unary(async (r, ctx) => {
      const created = await admin.apiKeys.create({ name: r.name, role: r.role }, ctx);
      return { apiKey: toProto(created), key: created.key };
    }),
    revokeApiKey: unary(async (r, ctx) => {
      await admin.apiKeys.revoke(r.name, ctx);
      return {};
    }),
  };
}
