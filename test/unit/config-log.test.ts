import { type ChangeRecord, ConfigState, diffStates, opsBetween, replay } from '../../src/model/config';
import { fromDocument, mergePatch, toDocument } from '../../src/model/engine-document';
import { parseEngineSpec } from '../../src/model/validate';

const record = (version: number, ops: ChangeRecord['ops']): ChangeRecord => ({
  version,
  at: 0,
  actor: 't',
  summary: 's',
  ops,
});

describe('the configuration log (pure)', () => {
  it('applies records in order only, and replays to any version', () => {
    const state = new ConfigState();
    state.apply(record(1, [{ op: 'put', kind: 'engines', name: 'a', value: { n: 1 } }]));
    expect(() => state.apply(record(3, []))).toThrow('change 3 does not follow version 1');
    const log = [
      record(1, [{ op: 'put', kind: 'engines', name: 'a', value: { n: 1 } }]),
      record(2, [{ op: 'put', kind: 'engines', name: 'b', value: { n: 2 } }]),
      record(3, [{ op: 'delete', kind: 'engines', name: 'a' }]),
    ];
    expect(
      replay(log.slice(0, 2))
        .list()
        .map((e) => [e.name, e.revision]),
    ).toEqual([
      ['a', 1],
      ['b', 2],
    ]);
    expect(
      replay(log)
        .list()
        .map((e) => e.name),
    ).toEqual(['b']);
  });

  it('turns one state into another with the fewest operations, and names the paths that differ', () => {
    const from = replay([
      record(1, [
        { op: 'put', kind: 'engines', name: 'a', value: { policy: { t: 1, r: [1, 2] }, x: 1 } },
        { op: 'put', kind: 'engines', name: 'same', value: { k: 1 } },
        { op: 'put', kind: 'engines', name: 'gone', value: {} },
      ]),
    ]);
    const to = replay([
      record(1, [
        { op: 'put', kind: 'engines', name: 'a', value: { policy: { t: 2, r: [1, 2, 3] }, y: 1 } },
        { op: 'put', kind: 'engines', name: 'same', value: { k: 1 } },
        { op: 'put', kind: 'engines', name: 'new', value: {} },
      ]),
    ]);
    expect(opsBetween(from, to).map((o) => `${o.op} ${o.name}`)).toEqual(['put a', 'put new', 'delete gone']);
    expect(diffStates(from, to).map((d) => [d.name, d.change, d.paths])).toEqual([
      ['a', 'changed', ['policy.r[2]', 'policy.t', 'x', 'y']],
      ['new', 'added', []],
      ['gone', 'removed', []],
    ]);
  });

  it('stores an engine in its input form: parsed back, it is the same spec (degraded payload bytes too)', () => {
    const parsed = parseEngineSpec({
      name: 'e',
      versions: [
        { name: 'v1', weight: 10 },
        { name: 'v2', weight: 0 },
      ],
      instances: [{ id: 'i', address: '10.0.0.1:7', version: 'v2', weight: 3, priority: 1, draining: true }],
      policy: { strategy: 'sticky', degraded: { payloadBase64: 'AAEC', messageBase64: 'CgE=' } },
      services: ['acme.v1.Pricing'],
    });
    if (!parsed.ok) throw new Error(parsed.errors.join());
    const back = fromDocument(toDocument(parsed.value), 7);
    expect(back).toEqual({ ok: true, value: { ...parsed.value, revision: 7 } });
  });

  it('merge-patches as RFC 7386: objects merge, null removes, arrays and scalars replace', () => {
    expect(
      mergePatch({ a: { b: 1, c: 2 }, d: [1, 2], e: 1 }, { a: { b: null, f: 3 }, d: [9], e: 'x' }),
    ).toEqual({
      a: { c: 2, f: 3 },
      d: [9],
      e: 'x',
    });
    expect(mergePatch({ a: 1 }, [1])).toEqual([1]);
  });
});
