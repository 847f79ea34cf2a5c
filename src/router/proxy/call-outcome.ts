import type { Outcome } from '../resilience/circuit-breaker';
import { isInstanceFailure } from '../stats/instance-stats';
import { Status } from './grpc-status';
import { type HeaderList, headerValue } from '../http/headers';

/** The grpc-status of a response's trailers (or trailers-only headers); UNKNOWN when absent or malformed. */
export function statusOf(headers: HeaderList): number {
  const raw = headerValue(headers, 'grpc-status');
  const code = raw === undefined ? NaN : Number(raw);
  return raw !== '' && Number.isInteger(code) ? code : Status.UNKNOWN;
}

/** The grpc-message of a response, decoded, or `fallback`. */
export function messageOf(headers: HeaderList, fallback: string): string {
  const raw = headerValue(headers, 'grpc-message');
  if (raw === undefined) return fallback;
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw; // not percent-encoded as it should be: as it came
  }
}

/**
 * grpc-retry-pushback-ms: a non-negative integer is how long to wait before retrying; anything else that
 * is present means "do not retry" (-1); absent: undefined (gRFC A6).
 */
export function pushbackOf(headers: HeaderList): number | undefined {
  const raw = headerValue(headers, 'grpc-retry-pushback-ms');
  if (raw === undefined) return undefined;
  return /^\d{1,9}$/.test(raw) ? Number(raw) : -1;
}

/** How a breaker counts a status: the instance's fault, fine, or the caller's own cancel (not counted). */
export function outcomeOf(code: number): Outcome {
  if (code === Status.CANCELLED) return 'ignored';
  return isInstanceFailure(code) ? 'failure' : 'success';
}
