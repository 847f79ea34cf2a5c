import { performance } from 'node:perf_hooks';
import type { RoutableEndpoint } from '../balancer/picker';
import type { H2Stream } from '../../protocol/h2/stream';
import type { ForwardOptions } from './call-options';
import { outcomeOf } from './call-outcome';
import type { HeldResponse } from './held-response';

/**
 * What every forwarded call does the same way, hedged or not: its deadline, recording an attempt's
 * outcome against the instance, sending a held response start on, and the call's end. One home, so a
 * change to how outcomes are blamed or budgets released reaches both kinds of call.
 */

/**
 * A call's deadline (performance.now() time; Infinity without one): the caller's grpc-timeout
 * (`callerBudgetMs`, parsed by the caller, which also needs to know whether there was one), else the
 * engine's default; less the time it queued. No object per call.
 */
export function deadlineAt(
  callerBudgetMs: number | undefined,
  options: ForwardOptions,
  startedAt: number,
): number {
  const budget = callerBudgetMs ?? (options.defaultTimeoutMs > 0 ? options.defaultTimeoutMs : undefined);
  return budget === undefined ? Infinity : startedAt + budget - options.waitedMs;
}

/**
 * Records an attempt's outcome on its instance: stats, its breaker, and ejection after errors in a row.
 * Only what the instance answered (or failed to) gets here: a caller's malformed request is refused by
 * the HTTP/2 layer before any attempt, and a caller's cancel or protocol error ends the call as
 * CANCELLED, which counts as nothing (outcomeOf). Returns the time it ended.
 */
export function recordAttempt(
  endpoint: RoutableEndpoint,
  options: ForwardOptions,
  code: number,
  startedAt: number,
): number {
  const end = performance.now();
  const latency = end - startedAt;
  const stats = endpoint.stats;
  stats.finished(code, latency, end);
  endpoint.breaker?.record(outcomeOf(code), latency);
  const limit = options.consecutiveErrors ?? 0;
  if (limit > 0 && stats.consecutiveFailures >= limit)
    options.eject?.(endpoint, `${stats.consecutiveFailures} failures in a row`);
  return end;
}

/** An attempt started but given up by this router (a hedge that lost): no outcome, no error. */
export function abandonAttempt(endpoint: RoutableEndpoint): void {
  endpoint.stats.abandoned();
  endpoint.breaker?.record('ignored', 0);
}

/**
 * Sends a held response start (headers and what came with them) to the caller; true when the caller's
 * stream is full (pause the instance's until onDrain).
 */
export function sendHeld(down: H2Stream, held: HeldResponse): boolean {
  down.respond(held.headers, false);
  let full = false;
  for (const chunk of held.chunks) full = !down.write(chunk);
  return full;
}

/**
 * The call is over: its outcome goes to the engine's breaker (a caller's cancel counts as nothing), a
 * retry budget slot held goes back, and the admission slot is released. `endedAt`: when, if the caller
 * has just read the clock.
 */
export function completeCall(
  options: ForwardOptions,
  code: number,
  startedAt: number,
  budgeted: boolean,
  endedAt = 0,
): void {
  const end = endedAt > 0 ? endedAt : performance.now();
  options.engineBreaker?.record(outcomeOf(code), end - startedAt);
  // Before `done`: the admission it releases reads the limit the sample may have moved.
  if (code === 0 && options.concurrency !== undefined) options.concurrency.sample(end - startedAt, end);
  const budget = options.retry?.budget;
  if (budget !== undefined) {
    budget.calls++;
    if (budgeted) budget.release();
  }
  options.done?.();
}
