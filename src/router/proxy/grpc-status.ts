import type { OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';

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

/** Ends a call with a gRPC error as a trailers-only response (or in trailers when headers went out). */
export function respondError(stream: ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.closed) return;
  const status: OutgoingHttpHeaders = {
    'grpc-status': String(code),
    'grpc-message': encodeGrpcMessage(message),
  };
  if (stream.headersSent) {
    stream.close(0x2); // INTERNAL_ERROR: too late for a status, the client sees the stream reset
    return;
  }
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...status }, { endStream: true });
}
