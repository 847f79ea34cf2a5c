import { performance } from 'node:perf_hooks';
import { HOLD_MS } from './held-response';

/** A call holding the start of a response (HeldResponse) that wants to hear when HOLD_MS has passed. */
export interface Holder {
  /** Its armed hold (from `holdFor`), 0 when none; read-only to the holder (see releaseHold). */
  holdTicket: number;
  /** HOLD_MS have passed since `holdFor`, and the holder did not release the hold. */
  holdExpired(): void;
}

// Every hold lasts HOLD_MS, so the order holds are armed in is the order they expire in: a FIFO of
// holders with their due times and one Node timer for all of them, instead of a timer each (a Timeout
// object, a timer list made and dropped per call when calls are spaced out, libuv's timer restarted).
// A hold's ticket is its place in the FIFO (ticket - base), so releasing one clears its slot at once:
// a finished call is not kept alive until its hold would have come due.
const holders: (Holder | undefined)[] = [];
const dues: number[] = [];
/** Ticket of holders[0]. */
let base = 1;
/** Slots before this one have expired. */
let head = 0;
let timer: NodeJS.Timeout | undefined;
/** Times the timer fired, for tests. */
let wakeups = 0;

/** Arms a hold for `holder`: holdExpired() in HOLD_MS unless released first (a holder re-armed counts anew). */
export function holdFor(holder: Holder): void {
  holder.holdTicket = base + holders.length;
  holders.push(holder);
  dues.push(performance.now() + HOLD_MS);
  if (timer === undefined) timer = setTimeout(expire, HOLD_MS);
}

/** Cancels `holder`'s hold, if it has one. */
export function releaseHold(holder: Holder): void {
  const at = holder.holdTicket - base;
  holder.holdTicket = 0;
  if (at >= head && at < holders.length && holders[at] === holder) holders[at] = undefined;
}

/** Holds armed and neither due nor released, for tests. */
export function holdsPending(): number {
  let n = 0;
  for (let i = head; i < holders.length; i++) if (holders[i] !== undefined) n++;
  return n;
}

/** Times the hold timer has fired, for tests: released holds must not wake the event loop. */
export function holdTimerWakeups(): number {
  return wakeups;
}

function expire(): void {
  timer = undefined;
  wakeups++;
  // Timers fire on the event loop's millisecond clock, which can be up to 1 ms behind performance.now().
  const now = performance.now() + 1;
  let failure: { error: unknown } | undefined;
  while (head < holders.length && dues[head] <= now) {
    const holder = holders[head];
    holders[head] = undefined;
    const ticket = base + head++;
    if (holder === undefined || holder.holdTicket !== ticket) continue;
    holder.holdTicket = 0;
    try {
      holder.holdExpired();
    } catch (error) {
      failure ??= { error }; // the other holds still expire; the first error is rethrown after
    }
  }
  // Released holds are skipped too: the timer is set for the next hold still armed, not for the next
  // call (calls spaced 1 ms apart whose responses complete at once would wake the loop per call).
  while (head < holders.length && holders[head] === undefined) head++;
  if (head === holders.length) {
    base += head;
    holders.length = dues.length = head = 0;
  } else {
    if (head > 1024 && head * 2 > holders.length) {
      holders.splice(0, head);
      dues.splice(0, head);
      base += head;
      head = 0;
    }
    timer = setTimeout(expire, Math.max(1, dues[head] - performance.now()));
  }
  if (failure) throw failure.error;
}
