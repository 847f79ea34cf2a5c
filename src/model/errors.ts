/**
 * Why an operation failed, transport-neutral: gRPC maps each to a status code, REST to an HTTP status.
 * Every layer above the model (store, security, the control plane, the transports) speaks it.
 */
export type ErrorCode =
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

export class NerveError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: readonly string[] = [],
    /**
     * When a retry may succeed (ms): HTTP `Retry-After` (seconds, rounded up), gRPC trailer
     * `grpc-retry-pushback-ms` (gRFC A6). Undefined: no hint.
     */
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}
