import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import { formatIssues, name, type Result } from '../validate';
import { ALL_ROLES } from './roles';

export const API_KEY_KIND = 'api-keys';

/**
 * Revoked keys' hashes (shared state, field: the SHA-256, value: who revoked it and when), kept outside
 * the versioned configuration: a rollback or an import of a version from before a revocation brings the
 * key's entry back, but never makes the key work again.
 */
export const REVOKED_KEYS_NS = 'revoked-api-keys';

export interface Revocation {
  readonly name: string;
  readonly revokedAt: string;
  readonly revokedBy: string;
}

/** A key's secret: the prefix names the kind (so scanners and people recognise it), 32 random bytes. */
const SECRET_PREFIX = 'nrv_';

/**
 * An API key as stored (a versioned configuration entry, kind `api-keys`): never its secret, only the
 * secret's SHA-256 (a key is 256 random bits, so a fast hash is enough: there is nothing to guess) and
 * the first characters, so an operator can tell keys apart in a listing.
 */
export const apiKeySchema = z.strictObject({
  name,
  role: z.enum(ALL_ROLES),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex digits'),
  hint: z.string().max(16),
  createdAt: z.string(),
  createdBy: z.string().max(200),
});
export type ApiKeyRecord = z.output<typeof apiKeySchema>;

export function parseApiKey(input: unknown, prefix = ''): Result<ApiKeyRecord> {
  const parsed = apiKeySchema.safeParse(input);
  return parsed.success
    ? { ok: true, value: parsed.data }
    : { ok: false, errors: formatIssues(parsed.error.issues, prefix) };
}

export function newSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64url');
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** What a listing shows of a secret: its kind prefix and four characters. */
export function hintOf(secret: string): string {
  return `${secret.slice(0, SECRET_PREFIX.length + 4)}…`;
}

/** Constant-time comparison of two hex digests of equal length. */
export function sameDigest(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}
