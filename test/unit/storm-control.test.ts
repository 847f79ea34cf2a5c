import { FirstResponses } from '../../src/control-plane/xds/first-responses';
import { PushFanout } from '../../src/control-plane/xds/push-fanout';
import { RequestBudget } from '../../src/control-plane/xds/request-budget';

/** A clock and a queue of later-turns the test runs by hand. */
function loop() {
  let t = 0;
  const turns: (() => void)[] = [];
  return {
    now: () => t,
    advance: (ms: number) => (t += ms),
    later: (run: () => void) => void turns.push(run),
    turn: () => turns.shift()?.(),
    get waiting() {
      return turns.length;
    },
  };
}

/** The xDS server's storm control, each rule over a fake clock (ads-server.ts wires them). */
describe('storm control', () => {
  describe('push fan-out', () => {
    it('pushes in slices of the event loop, never longer than a slice at a time', () => {
      const l = loop();
      const pushed: number[] = [];
      // Each push costs 1 ms: a slice of 4 ms takes 16 (the clock is read every 16 pushes).
      const fanout = new PushFanout<number>((i) => (pushed.push(i), l.advance(1)), 4, l.now, l.later);
      fanout.pushAll(Array.from({ length: 50 }, (_, i) => i));
      expect(pushed).toEqual([]);
      l.turn();
      expect(pushed).toHaveLength(16);
      expect(fanout.pending).toBe(34);
      while (l.waiting > 0) l.turn();
      expect(pushed).toEqual(Array.from({ length: 50 }, (_, i) => i));
      expect(fanout.pending).toBe(0);
    });

    it('on a new snapshot mid-pass, pushes first to those not reached: everyone gets the newest, once', () => {
      const l = loop();
      const pushed: string[] = [];
      let snapshot = 'A';
      const fanout = new PushFanout<number>(
        (i) => (pushed.push(`${i}${snapshot}`), l.advance(1)),
        4,
        l.now,
        l.later,
      );
      fanout.pushAll(Array.from({ length: 40 }, (_, i) => i));
      l.turn();
      snapshot = 'B';
      fanout.pushAll(Array.from({ length: 40 }, (_, i) => i));
      while (l.waiting > 0) l.turn();
      expect(pushed.filter((p) => p.endsWith('A'))).toHaveLength(16);
      const b = pushed.filter((p) => p.endsWith('B'));
      expect(b).toEqual([
        ...Array.from({ length: 24 }, (_, i) => `${i + 16}B`),
        ...Array.from({ length: 16 }, (_, i) => `${i}B`),
      ]);
    });

    it('reaches the end of the list however often snapshots come', () => {
      const l = loop();
      const reached = new Set<number>();
      const fanout = new PushFanout<number>((i) => (reached.add(i), l.advance(1)), 4, l.now, l.later);
      const all = Array.from({ length: 100 }, (_, i) => i);
      // A new snapshot after every slice: a pass that started over from the top would stop at 16.
      for (let n = 0; n < 10; n++) {
        fanout.pushAll(all);
        l.turn();
      }
      expect(reached.size).toBe(100);
    });
  });

  describe('first responses in flight', () => {
    beforeEach(() => jest.useFakeTimers());
    afterEach(() => jest.useRealTimers());

    it('lets `limit` streams in at once, the rest in the order they came, as places come back', () => {
      const gate = new FirstResponses(2, 5_000);
      const went: string[] = [];
      const release = Object.fromEntries(
        ['a', 'b', 'c', 'd'].map((n) => [n, gate.enter(() => went.push(n))]),
      );
      expect(went).toEqual(['a', 'b']);
      expect([gate.active, gate.queued]).toEqual([2, 2]);
      release.a();
      release.a(); // idempotent
      expect(went).toEqual(['a', 'b', 'c']);
      release.d(); // d leaves the line before its turn: it never goes, and takes no place
      release.b();
      expect(went).toEqual(['a', 'b', 'c']);
      expect([gate.active, gate.queued]).toEqual([1, 0]);
      expect(gate.enter(() => went.push('e'))).toBeInstanceOf(Function);
      expect(went).toEqual(['a', 'b', 'c', 'e']);
    });

    it('takes a place back from a client that never answers, after holdMs', () => {
      const gate = new FirstResponses(1, 5_000);
      const went: string[] = [];
      gate.enter(() => went.push('silent'));
      gate.enter(() => went.push('next'));
      jest.advanceTimersByTime(4_999);
      expect(went).toEqual(['silent']);
      jest.advanceTimersByTime(1);
      expect(went).toEqual(['silent', 'next']);
    });
  });

  describe('request budget', () => {
    it('gives the burst at once, then the sustained rate, and says how long to wait', () => {
      let t = 0;
      const budget = new RequestBudget(100, 5, () => t);
      for (let i = 0; i < 5; i++) expect(budget.take()).toBe(0);
      expect(budget.take()).toBe(10);
      t += 10;
      expect(budget.take()).toBe(0);
      expect(budget.take()).toBe(10);
      t += 1_000;
      for (let i = 0; i < 5; i++) expect(budget.take()).toBe(0); // refilled to the burst, not beyond
      expect(budget.take()).toBeGreaterThan(0);
    });
  });
});
