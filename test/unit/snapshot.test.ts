import { danglingReferences, EMPTY_SNAPSHOT, nextSnapshot } from '../../src/model/snapshot';

const A = 'type/A';
const B = 'type/B';
const body = (s: string) => Buffer.from(s);

describe('snapshot versioning', () => {
  it('gives every type a version and content-derived resource versions', () => {
    const s1 = nextSnapshot(
      EMPTY_SNAPSHOT,
      new Map([
        [A, [{ name: 'x', body: body('1') }]],
        [B, []],
      ]),
    );
    expect(s1.serial).toBe(1);
    expect(s1.types.get(A)!.version).toMatch(/^[\w-]{16}$/);
    expect(s1.types.get(B)!.version).toMatch(/^[\w-]{16}$/);
    expect(s1.types.get(A)!.version).not.toBe(s1.types.get(B)!.version);
    expect(s1.types.get(A)!.resources.get('x')!.version).toMatch(/^[\w-]{16}$/);
  });

  it('returns the same snapshot when nothing changed, so nothing is pushed', () => {
    const content = new Map([[A, [{ name: 'x', body: body('1') }]]]);
    const s1 = nextSnapshot(EMPTY_SNAPSHOT, content);
    expect(nextSnapshot(s1, new Map([[A, [{ name: 'x', body: body('1') }]]]))).toBe(s1);
  });

  it('bumps only the types whose resources changed, keeping the others identical', () => {
    const s1 = nextSnapshot(
      EMPTY_SNAPSHOT,
      new Map([
        [A, [{ name: 'x', body: body('1') }]],
        [B, [{ name: 'y', body: body('1') }]],
      ]),
    );
    const s2 = nextSnapshot(
      s1,
      new Map([
        [A, [{ name: 'x', body: body('2') }]],
        [B, [{ name: 'y', body: body('1') }]],
      ]),
    );
    expect(s2.serial).toBe(2);
    expect(s2.types.get(A)!.version).not.toBe(s1.types.get(A)!.version);
    expect(s2.types.get(B)).toBe(s1.types.get(B));
  });

  it('treats an added or removed resource as a change', () => {
    const s1 = nextSnapshot(EMPTY_SNAPSHOT, new Map([[A, [{ name: 'x', body: body('1') }]]]));
    const added = nextSnapshot(
      s1,
      new Map([
        [
          A,
          [
            { name: 'x', body: body('1') },
            { name: 'z', body: body('1') },
          ],
        ],
      ]),
    );
    expect(added.types.get(A)!.version).not.toBe(s1.types.get(A)!.version);
    const removed = nextSnapshot(added, new Map([[A, [{ name: 'z', body: body('1') }]]]));
    expect(new Set([s1, added, removed].map((s) => s.types.get(A)!.version)).size).toBe(3);
  });

  it('derives type versions from content alone: equal content, equal version, on any replica', () => {
    // Two "replicas" reach the same content by different paths and orders.
    const one = nextSnapshot(
      EMPTY_SNAPSHOT,
      new Map([
        [
          A,
          [
            { name: 'x', body: body('1') },
            { name: 'y', body: body('2') },
          ],
        ],
      ]),
    );
    let other = nextSnapshot(EMPTY_SNAPSHOT, new Map([[A, [{ name: 'q', body: body('9') }]]]));
    other = nextSnapshot(
      other,
      new Map([
        [
          A,
          [
            { name: 'y', body: body('2') },
            { name: 'x', body: body('1') },
          ],
        ],
      ]),
    );
    expect(other.serial).not.toBe(one.serial);
    expect(other.types.get(A)!.version).toBe(one.types.get(A)!.version);
  });

  it('rejects duplicate resource names within a type', () => {
    expect(() =>
      nextSnapshot(
        EMPTY_SNAPSHOT,
        new Map([
          [
            A,
            [
              { name: 'x', body: body('1') },
              { name: 'x', body: body('2') },
            ],
          ],
        ]),
      ),
    ).toThrow('duplicate resource name "x" for type/A');
  });

  it('finds references to resources the snapshot does not hold, before it is served', () => {
    const ok = new Map([
      [A, [{ name: 'x', body: body('1'), references: [{ typeUrl: B, name: 'y' }] }]],
      [B, [{ name: 'y', body: body('2') }]],
    ]);
    expect(danglingReferences(ok)).toEqual([]);
    const broken = new Map([
      [A, [{ name: 'x', body: body('1'), references: [{ typeUrl: B, name: 'gone' }] }]],
      [B, [{ name: 'y', body: body('2') }]],
    ]);
    expect(danglingReferences(broken)).toEqual(['type/A "x" names type/B "gone", which does not exist']);
  });
});
