import { ErrorCode } from '../../protocol/h2/frames';
import type { H2Stream } from '../../protocol/h2/stream';

export const Status = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
} as const;

/** grpc-message is percent-encoded: everything outside printable ASCII, and '%' itself (gRPC HTTP/2 spec). */
export function encodeGrpcMessage(message: string): string {
  return message.replace(/[^\x20-\x24\x26-\x7e]+/g, (s) => encodeURIComponent(s));
}

/** Trailers carrying a status and message. */
export function statusTrailers(code: number, message: string): string[] {
  return ['grpc-status', String(code), 'grpc-message', encodeGrpcMessage(message)];
}

/** Ends a call with a gRPC error as a trailers-only response (or a reset when headers went out). */
export function respondError(stream: H2Stream, code: number, message: string): void {
  if (stream.closed) return;
  if (stream.headersSent) {
    stream.reset(ErrorCode.INTERNAL_ERROR); // too late for a status, the client sees the stream reset
    return;
  }
  stream.respond(
    [':status', '200', 'content-type', 'application/grpc', ...statusTrailers(code, message)],
    true,
  );
}
