import type { IncomingHttpHeaders } from 'node:http2';
import type { Outcome } from '../resilience/circuit-breaker';
import { isInstanceFailure } from '../stats/instance-stats';
import { Status } from './grpc-status';

/** Pseudo-headers carried to the instance, and back to the caller. */
export const REQUEST_PSEUDO = [':method', ':path', ':authority', ':scheme'];
export const RESPONSE_PSEUDO = [':status'];

/** The grpc-status of a response's trailers (or trailers-only headers); UNKNOWN when absent or malformed. */
export function statusOf(headers: IncomingHttpHeaders): number {
  const raw = headers['grpc-status'];
  const code = typeof raw === 'string' ? Number(raw) : NaN;
  return Number.isInteger(code) ? code : Status.UNKNOWN;
}

/** How a breaker counts a status: the instance's fault, fine, or the caller's own cancel (not counted). */
export function outcomeOf(code: number): Outcome {
  if (code === Status.CANCELLED) return 'ignored';
  return isInstanceFailure(code) ? 'failure' : 'success';
}
