import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import type { JsonValue } from '../model/config';

/**
 * What a retried request with the same Idempotency-Key finds: the version its first attempt committed,
 * and, once that attempt answered, its answer.
 */
export interface IdempotencyRecord {
  readonly version: number;
  readonly status?: number;
  readonly body?: JsonValue;
}

/** How long a key is remembered (as payment APIs do: a day). */
export const IDEMPOTENCY_TTL_MS = 24 * 3_600_000;

/** A key as stored: its hash (a client's key may be long, or carry what it should not). */
export function idempotencyId(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

interface Holder {
  readonly id: string;
  used: boolean;
}

const current = new AsyncLocalStorage<Holder>();

/**
 * Runs `fn` with an Idempotency-Key in force: the first commit `fn` makes records the key with its
 * version atomically (a retry finds it even when the first attempt's answer was lost), and a second
 * commit under the same key is refused. The key travels with the request's async context, so every
 * write path (engines, entries, batches, fleet operations) takes it without being told.
 */
export function withIdempotencyKey<T>(key: string, fn: () => T): T {
  return current.run({ id: idempotencyId(key), used: false }, fn);
}

/** A client's key scoped to who sent it: two callers' equal keys never meet. */
export function scopedKey(principal: string, key: string): string {
  return `${principal}\n${key}`;
}

/** The key the next commit in this context records (and from then on none: one commit per key). */
export function takeIdempotencyId(): string | undefined {
  const h = current.getStore();
  if (!h || h.used) return undefined;
  h.used = true;
  return h.id;
}

/** A commit under a key some earlier attempt already committed: not applied again. */
export class DuplicateCommitError extends Error {
  constructor(readonly version: number) {
    super(`already applied at version ${version} by an earlier attempt with the same Idempotency-Key`);
  }
}
