import { performance } from 'node:perf_hooks';
import { HOLD_MS } from '../../src/router/proxy/held-response';
import {
  type Holder,
  holdFor,
  holdTimerWakeups,
  holdsPending,
  releaseHold,
} from '../../src/router/proxy/hold-timer';

/** A holder recording when it expired, relative to when it was armed. */
function holder(log: string[], name: string): Holder & { armedAt: number; waited: number } {
  return {
    holdTicket: 0,
    armedAt: 0,
    waited: -1,
    holdExpired() {
      this.waited = performance.now() - this.armedAt;
      log.push(name);
    },
  };
}

function arm(h: Holder & { armedAt: number }): void {
  h.armedAt = performance.now();
  holdFor(h);
}

const until = async (done: () => boolean, deadlineMs = 5_000) => {
  const end = Date.now() + deadlineMs;
  while (!done()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setImmediate(r));
  }
};

describe('hold timer (one queue for every held response)', () => {
  it('tells each holder HOLD_MS after it armed, in order, and never one that released its hold', async () => {
    const log: string[] = [];
    const a = holder(log, 'a');
    const b = holder(log, 'b');
    const c = holder(log, 'c');
    arm(a);
    await new Promise((r) => setTimeout(r, 30));
    arm(b);
    arm(c);
    releaseHold(b); // b's response completed
    expect(holdsPending()).toBe(2); // released at once: a finished call is not kept until its hold is due
    await until(() => log.length === 2);
    expect(log).toEqual(['a', 'c']);
    // Not early (the event loop's clock is in whole ms), and not much late.
    for (const h of [a, c]) {
      expect(h.waited).toBeGreaterThanOrEqual(HOLD_MS - 1);
      expect(h.waited).toBeLessThan(HOLD_MS + 100);
    }
    expect(b.waited).toBe(-1);
    expect(a.holdTicket).toBe(0);
    await until(() => holdsPending() === 0);
  });

  it('re-arms a holder that released its hold: it expires once, counted from the second arming', async () => {
    const log: string[] = [];
    const first = holder(log, 'first');
    const again = holder(log, 'again');
    arm(again);
    releaseHold(again);
    arm(first);
    await new Promise((r) => setTimeout(r, 30));
    arm(again);
    await until(() => log.length === 2);
    await new Promise((r) => setTimeout(r, 20));
    expect(log).toEqual(['first', 'again']);
    expect(again.waited).toBeGreaterThanOrEqual(HOLD_MS - 1);
    await until(() => holdsPending() === 0);
  });

  it('wakes the event loop for holds still armed, not for each call whose hold was released', async () => {
    const log: string[] = [];
    const first = holder(log, 'first');
    arm(first);
    releaseHold(first);
    const before = holdTimerWakeups();
    // 40 calls 1 ms apart, each released at once, then one still held: as at 1,000 calls/s.
    for (let i = 0; i < 40; i++) {
      const h = holder(log, `call ${i}`);
      arm(h);
      releaseHold(h);
      await new Promise((r) => setTimeout(r, 1));
    }
    const last = holder(log, 'last');
    arm(last);
    await until(() => log.length === 1);
    expect(log).toEqual(['last']);
    // Once for the first hold (released: the timer moves on to the last one), once for the last; once more
    // if the loop above outlasts HOLD_MS on a slow machine. One per call (41) without the skipping.
    expect(holdTimerWakeups() - before).toBeLessThanOrEqual(3);
    await until(() => holdsPending() === 0);
  });
});
