import { performance } from 'node:perf_hooks';
import { HOLD_MS } from './held-response';

/** A call holding the start of a response (HeldResponse) that wants to hear when HOLD_MS has passed. */
export interface Holder {
  /**
   * Its armed hold (from `holdFor`), 0 when none. The holder disarms by setting it to 0: nothing else to
   * undo, the entry is skipped when it comes due.
   */
  holdTicket: number;
  /** HOLD_MS have passed since `holdFor`, and the holder did not disarm. */
  holdExpired(): void;
}

// Every hold lasts HOLD_MS, so the order holds are armed in is the order they expire in: a FIFO of
// (holder, ticket, due) and one Node timer for all of them, instead of a timer each (a Timeout object, a
// timer list made and dropped per call when calls are spaced out, libuv's timer restarted). Entries
// disarmed stay until due (about HOLD_MS × calls per ms of them) and are then skipped.
const holders: (Holder | undefined)[] = [];
const tickets: number[] = [];
const dues: number[] = [];
let head = 0;
let lastTicket = 0;
let timer: NodeJS.Timeout | undefined;

/** Arms a hold for `holder`: holdExpired() in HOLD_MS unless it sets holdTicket to 0 first. */
export function holdFor(holder: Holder): void {
  const ticket = ++lastTicket;
  holder.holdTicket = ticket;
  holders.push(holder);
  tickets.push(ticket);
  dues.push(performance.now() + HOLD_MS);
  if (timer === undefined) timer = setTimeout(expire, HOLD_MS);
}

/** Holds armed and not yet due (disarmed ones included), for tests. */
export function holdsPending(): number {
  return holders.length - head;
}

function expire(): void {
  timer = undefined;
  // Timers fire on the event loop's millisecond clock, which can be up to 1 ms behind performance.now().
  const now = performance.now() + 1;
  let failure: { error: unknown } | undefined;
  while (head < holders.length && dues[head] <= now) {
    const holder = holders[head]!;
    const ticket = tickets[head];
    holders[head++] = undefined;
    if (holder.holdTicket !== ticket) continue;
    holder.holdTicket = 0;
    try {
      holder.holdExpired();
    } catch (error) {
      failure ??= { error }; // the other holds still expire; the first error is rethrown after
    }
  }
  if (head > 1024 && head * 2 > holders.length) {
    holders.splice(0, head);
    tickets.splice(0, head);
    dues.splice(0, head);
    head = 0;
  }
  if (head === holders.length) {
    holders.length = tickets.length = dues.length = head = 0;
  } else {
    timer = setTimeout(expire, Math.max(1, dues[head] - performance.now()));
  }
  if (failure) throw failure.error;
}
