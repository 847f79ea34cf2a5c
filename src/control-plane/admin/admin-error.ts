import { PatchTooDeepError } from '../../model/engine-document';
import { DuplicateCommitError } from '../../store/idempotency';
import {
  FencedError,
  RevisionConflictError,
  StoreUnavailableError,
  VersionConflictError,
} from '../../store/config-store';

/** Failures of admin operations, transport-neutral: gRPC maps them to status codes, REST to HTTP. */
export type AdminErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'ABORTED'
  /** A stale If-Match or a concurrent change: read again and retry (HTTP 409, gRPC ABORTED). */
  | 'CONFLICT'
  /** The configuration store is unreachable: writes fail fast (HTTP 503, gRPC UNAVAILABLE). */
  | 'UNAVAILABLE'
  /** No credentials, or credentials that do not verify (HTTP 401, gRPC UNAUTHENTICATED). */
  | 'UNAUTHENTICATED'
  /** Valid credentials whose role is too low (HTTP 403, gRPC PERMISSION_DENIED). */
  | 'PERMISSION_DENIED'
  /** Too many requests from one key or address (HTTP 429, gRPC RESOURCE_EXHAUSTED). */
  | 'RESOURCE_EXHAUSTED';

export class AdminError extends Error {
  constructor(
    readonly code: AdminErrorCode,
    message: string,
    readonly details: readonly string[] = [],
  ) {
    super(message);
  }
}

/** Store failures as the admin errors callers see; anything else is returned as it is. */
export function asAdminError(err: unknown): unknown {
  if (err instanceof RevisionConflictError || err instanceof VersionConflictError)
    return new AdminError('CONFLICT', err.message);
  if (err instanceof StoreUnavailableError || err instanceof FencedError)
    return new AdminError('UNAVAILABLE', err.message);
  if (err instanceof PatchTooDeepError) return new AdminError('INVALID_ARGUMENT', err.message);
  if (err instanceof DuplicateCommitError) return new AdminError('CONFLICT', err.message);
  // Only input nested absurdly deep recurses this far: the caller's fault, and the process goes on.
  if (err instanceof RangeError && /call stack/.test(err.message))
    return new AdminError('INVALID_ARGUMENT', 'the request nests too deeply');
  return err;
}
