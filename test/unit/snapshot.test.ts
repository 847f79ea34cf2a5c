import { EMPTY_SNAPSHOT, nextSnapshot } from '../../src/model/snapshot';

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
    expect(s1.types.get(A)!.version).toBe('1');
    expect(s1.types.get(B)!.version).toBe('1');
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
    expect(s2.types.get(A)!.version).toBe('2');
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
    expect(added.types.get(A)!.version).toBe('2');
    const removed = nextSnapshot(added, new Map([[A, [{ name: 'z', body: body('1') }]]]));
    expect(removed.types.get(A)!.version).toBe('3');
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
});
