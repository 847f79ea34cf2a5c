import { PatchTooDeepError } from '../model/engine-document';
import { NerveError } from '../model/errors';
import { DuplicateCommitError } from './idempotency';
import {
  FencedError,
  RevisionConflictError,
  StoreUnavailableError,
  VersionConflictError,
} from './config-store';

/**
 * When to retry a write the store refused for being unreachable: a Sentinel failover takes seconds, a
 * reconnect less; clients that honour it spread their retries instead of hammering.
 */
export const STORE_RETRY_AFTER_MS = 1_000;

/** Store failures as the errors callers see; anything else is returned as it is. */
export function asNerveError(err: unknown): unknown {
  if (err instanceof RevisionConflictError || err instanceof VersionConflictError)
    return new NerveError('CONFLICT', err.message);
  if (err instanceof StoreUnavailableError)
    return new NerveError('UNAVAILABLE', err.message, [], STORE_RETRY_AFTER_MS);
  if (err instanceof FencedError) return new NerveError('UNAVAILABLE', err.message);
  if (err instanceof PatchTooDeepError) return new NerveError('INVALID_ARGUMENT', err.message);
  if (err instanceof DuplicateCommitError) return new NerveError('CONFLICT', err.message);
  // Only input nested absurdly deep recurses this far: the caller's fault, and the process goes on.
  if (err instanceof RangeError && /call stack/.test(err.message))
    return new NerveError('INVALID_ARGUMENT', 'the request nests too deeply');
  return err;
}
