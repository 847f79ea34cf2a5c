import { ConfigState } from '../../src/model/config';
import { divergence, generationContent } from '../../src/store/redis/store-identity';

const following = { generation: 'g1', version: 10, divergedAtMs: undefined };
const found = (extra: object = {}) => ({
  generation: 'g1',
  info: undefined,
  marker: undefined,
  version: 10,
  ...extra,
});
const reseed = (supersedes: string, at = 5_000) => ({
  id: 'g2',
  origin: 'reseeded' as const,
  supersedes,
  at,
  by: 'ops',
  version: 11,
});
const marker = { replica: 'cp-a', generation: 'g1', version: 10, reason: 'lost', at: 1 };

describe('store identity: when a replica may follow the store it loaded', () => {
  it('follows its own generation at its version or later', () => {
    expect(divergence(following, found())).toBeUndefined();
    expect(divergence(following, found({ version: 12 }))).toBeUndefined();
  });

  it('diverges on a store with no generation, another one, or a version behind', () => {
    expect(divergence(following, found({ generation: '' }))).toMatch(/lost its data \(no generation/);
    expect(divergence(following, found({ generation: 'g9' }))).toMatch(/generation changed from g1 to g9/);
    expect(divergence(following, found({ version: 3 }))).toMatch(/at version 3, behind this replica's 10/);
  });

  it('adopts an operator reseed of its generation, or one made after it diverged; not a marked store', () => {
    expect(
      divergence(following, found({ generation: 'g2', info: reseed('g1'), version: 11 })),
    ).toBeUndefined();
    const diverged = { generation: 'g0', version: 10, divergedAtMs: 4_000 };
    expect(divergence(diverged, found({ generation: 'g2', info: reseed('g1', 5_000) }))).toBeUndefined();
    expect(divergence(diverged, found({ generation: 'g2', info: reseed('g1', 3_000) }))).toMatch(/changed/);
    expect(
      divergence(
        following,
        found({ generation: 'g2', info: reseed('g1'), marker: { ...marker, generation: 'g2' } }),
      ),
    ).toMatch(/generation changed from g1 to g2/);
  });

  it('a fresh replica on a marked store diverges; on a new or upgraded store it follows', () => {
    const fresh = { generation: undefined, version: 0, divergedAtMs: undefined };
    expect(divergence(fresh, found({ generation: '', marker }))).toMatch(
      /replica cp-a found the store had lost data/,
    );
    expect(divergence(fresh, found({ generation: 'g1', version: 40 }))).toBeUndefined();
    // A replica that adopted a generation made after another replica's marker diverges too.
    expect(divergence({ ...fresh, generation: 'g7' }, found({ generation: 'g7', marker }))).toMatch(
      /lost data/,
    );
  });
});

describe('what a new store generation holds', () => {
  const current = ConfigState.from(10, [
    { kind: 'engines', name: 'a', revision: 4, value: { name: 'a', n: 1 } },
    { kind: 'engines', name: 'b', revision: 9, value: { name: 'b' } },
  ]);
  it('a reseed: the replica state at the new version, revisions kept', () => {
    const next = generationContent(current, undefined, 11);
    expect(next.version).toBe(11);
    expect(next.list().map((e) => [e.name, e.revision])).toEqual([
      ['a', 4],
      ['b', 9],
    ]);
  });
  it('a restore: the backup, entries equal to those held keep their revision, others take the new version', () => {
    const next = generationContent(
      current,
      [
        { kind: 'engines', name: 'a', value: { n: 1, name: 'a' } },
        { kind: 'engines', name: 'c', value: { name: 'c' } },
      ],
      11,
    );
    expect(next.list().map((e) => [e.name, e.revision])).toEqual([
      ['a', 4],
      ['c', 11],
    ]);
  });
});
