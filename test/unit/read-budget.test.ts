import type { Socket } from 'node:net';
import { ReadBudget } from '../../src/protocol/h2/read-budget';
import type { BytesReceiver } from '../../src/protocol/h2/socket-reads';

/** A fake clock, a check phase run by hand, sockets that record pauses and resumes. */
function harness(sliceMs: number, costMs: number) {
  let now = 0;
  const phases: (() => void)[] = [];
  let busy = false;
  const budget = new ReadBudget(
    sliceMs,
    () => busy,
    () => now,
    (run) => phases.push(run),
  );
  const seen: string[] = [];
  const socket = (name: string) => {
    const s = { name, destroyed: false, resumed: 0, resume: () => s.resumed++ };
    const sink = (): BytesReceiver => ({
      onBytes: (chunk, n) => {
        now += costMs;
        seen.push(`${name}:${chunk.subarray(0, n).toString()}`);
      },
    });
    return {
      s,
      sink,
      read: (text: string) =>
        budget.read(s as unknown as Socket, sink, Buffer.from(text + '!!!'), text.length),
    };
  };
  const checkPhase = () => {
    const run = phases.splice(0);
    for (const r of run) r();
  };
  return { budget, socket, seen, checkPhase, setBusy: (b: boolean) => (busy = b) };
}

describe('ReadBudget (reads per turn of the event loop are bounded)', () => {
  it('handles reads until the slice is spent, then sets copies aside and pauses their sockets', () => {
    const h = harness(4, 1);
    const socks = ['a', 'b', 'c', 'd', 'e', 'f'].map((n) => h.socket(n));
    const handled = socks.map((k) => k.read(`${k.s.name}1`));
    expect(handled).toEqual([true, true, true, true, false, false]);
    expect(h.seen).toEqual(['a:a1', 'b:b1', 'c:c1', 'd:d1']);
    expect(h.budget.waiting).toBe(2);
    // The check phase: a new turn's budget, and the reads set aside handled in a slice, sockets resumed.
    h.checkPhase();
    expect(h.seen.slice(4)).toEqual(['e:e1', 'f:f1']); // the copies, not the shared buffer's later bytes
    expect(socks[4].s.resumed).toBe(1);
    expect(socks[5].s.resumed).toBe(1);
    expect(h.budget.waiting).toBe(0);
    // The next turn starts with its whole budget.
    expect(socks[0].read('a2')).toBe(true);
  });

  it('hands the reads set aside over in slices, however many, each once and in order', () => {
    const h = harness(2, 1);
    const socks = Array.from({ length: 40 }, (_, i) => h.socket(`s${i}`));
    for (const k of socks) k.read('x');
    expect(h.seen).toHaveLength(2);
    let phases = 0;
    while (h.budget.waiting > 0) {
      h.checkPhase();
      phases++;
      expect(phases).toBeLessThan(40);
    }
    expect(phases).toBeGreaterThan(1); // not all in one slice
    expect(h.seen).toEqual(socks.map((k) => `${k.s.name}:x`));
    expect(socks.every((k) => k.s.resumed <= 1)).toBe(true);
  });

  it("drops a destroyed socket's reads set aside and resumes nothing", () => {
    const h = harness(1, 1);
    const a = h.socket('a');
    const b = h.socket('b');
    a.read('a1');
    b.read('b1');
    b.s.destroyed = true;
    h.checkPhase();
    expect(h.seen).toEqual(['a:a1']);
    expect(b.s.resumed).toBe(0);
  });

  it('gives a quarter of the slice to reads while sliced work it gives way to is under way', () => {
    const h = harness(4, 1);
    h.setBusy(true);
    const socks = ['a', 'b', 'c'].map((n) => h.socket(n));
    expect(socks.map((k) => k.read('x'))).toEqual([true, false, false]);
    h.setBusy(false);
    h.checkPhase();
    expect(h.seen).toEqual(['a:x', 'b:x', 'c:x']);
    expect(socks[0].read('y')).toBe(true);
  });
});
