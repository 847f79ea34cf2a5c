import { StreamTable } from '../../src/protocol/h2/stream-table';

const s = (id: number) => ({ id });

describe('StreamTable (a connection’s open streams by id)', () => {
  it('finds, counts and removes streams, also ones whose slot is taken (ids 128 apart)', () => {
    const t = new StreamTable<{ id: number }>();
    const a = s(1);
    const b = s(129); // same slot as 1
    const c = s(3);
    t.add(a);
    t.add(b);
    t.add(c);
    expect(t.size).toBe(3);
    expect([t.get(1), t.get(129), t.get(3), t.get(5), t.get(257)]).toEqual([a, b, c, undefined, undefined]);
    expect(t.delete(1)).toBe(true);
    expect(t.get(129)).toBe(b); // the one kept aside is still found
    expect(t.delete(1)).toBe(false);
    expect(t.delete(7)).toBe(false);
    expect(t.size).toBe(2);
    expect(
      t
        .list()
        .map((x) => x.id)
        .sort((x, y) => x - y),
    ).toEqual([3, 129]);
  });

  it('matches a Map through 20,000 random opens and closes, up to 300 streams open at once', () => {
    const t = new StreamTable<{ id: number }>();
    const m = new Map<number, { id: number }>();
    let next = 1;
    let seed = 7;
    const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 20_000; i++) {
      if (m.size < 300 && (m.size === 0 || rand() < 0.5)) {
        const x = s(next);
        next += 2;
        t.add(x);
        m.set(x.id, x);
      } else {
        const ids = [...m.keys()];
        const id = ids[Math.floor(rand() * ids.length)];
        expect(t.delete(id)).toBe(true);
        m.delete(id);
      }
      const probe = 1 + 2 * Math.floor(rand() * (next / 2));
      expect(t.get(probe)).toBe(m.get(probe));
      expect(t.size).toBe(m.size);
    }
    expect(new Set(t.list())).toEqual(new Set(m.values()));
  });
});
