import { clientStatus } from '../../src/control-plane/xds/client-status';
import type { TypeStatus } from '../../src/control-plane/xds/stream-state';
import type { Snapshot } from '../../src/model/snapshot';

const T = 'type.googleapis.com/x.Cluster';
const snapshot: Snapshot = {
  serial: 1,
  types: new Map([
    [
      T,
      {
        version: 'v9',
        resources: new Map([
          ['a', { name: 'a', version: 'ra', body: Buffer.from('A') }],
          ['b', { name: 'b', version: 'rb', body: Buffer.from('B') }],
        ]),
      },
    ],
  ]),
};

const type = (over: Partial<TypeStatus>): TypeStatus => ({
  typeUrl: T,
  wildcard: true,
  subscribed: [],
  sentVersion: 'v9',
  ackedVersion: 'v9',
  responses: 1,
  inSync: true,
  ...over,
});

const stream = (nodeId: string, types: TypeStatus[]) => ({ nodeId, peer: 'p', connectedAtMs: 0, types });

/** The CSDS rules (client-status.ts): where each type stands, what is listed, who is matched. */
describe('client status (CSDS) from stream state', () => {
  it('lists each selected resource with where its type stands, contents only when synced', () => {
    const res = clientStatus(
      {},
      [
        stream('synced', [type({})]),
        stream('waiting', [type({ inSync: false, sentVersion: 'v9', ackedVersion: 'v8' })]),
        stream('new', [type({ inSync: false, responses: 0, ackedVersion: '', sentVersion: '' })]),
        stream('named', [type({ wildcard: false, subscribed: ['b', 'gone'] })]),
        stream('empty', [type({ typeUrl: 'type.googleapis.com/x.Other' })]),
      ],
      snapshot,
    );
    const by = Object.fromEntries(res.config.map((c) => [c.node.id, c.generic_xds_configs]));
    expect(
      by.synced.map((g) => [g.name, g.config_status, g.client_status, g.xds_config?.value.toString()]),
    ).toEqual([
      ['a', 'SYNCED', 'ACKED', 'A'],
      ['b', 'SYNCED', 'ACKED', 'B'],
    ]);
    expect(by.waiting.map((g) => [g.config_status, g.client_status, g.version_info, g.xds_config])).toEqual([
      ['STALE', 'ACKED', 'v8', undefined],
      ['STALE', 'ACKED', 'v8', undefined],
    ]);
    expect(by.new[0]).toMatchObject({ config_status: 'NOT_SENT', client_status: 'REQUESTED' });
    // A name asked for that does not exist is still listed: the client is waiting for it.
    expect(by.named.map((g) => [g.name, g.xds_config?.value.toString()])).toEqual([
      ['b', 'B'],
      ['gone', undefined],
    ]);
    expect(by.empty).toEqual([
      expect.objectContaining({ name: '', type_url: 'type.googleapis.com/x.Other', config_status: 'SYNCED' }),
    ]);
  });

  it('shows a NACK of the version sent as ERROR; a NACK of an older one that was since replaced is not', () => {
    const nack = { version: 'v9', error: 'bad', atMs: 1_500 };
    const [now] = clientStatus(
      {},
      [stream('n', [type({ inSync: false, ackedVersion: 'v8', nack })])],
      snapshot,
    ).config;
    expect(now.generic_xds_configs[0]).toMatchObject({
      config_status: 'ERROR',
      client_status: 'NACKED',
      version_info: 'v8',
      error_state: {
        details: 'bad',
        version_info: 'v9',
        last_update_attempt: { seconds: 1, nanos: 500_000_000 },
      },
    });
    const old = { ...nack, version: 'v7' };
    const [later] = clientStatus({}, [stream('n', [type({ nack: old })])], snapshot).config;
    expect(later.generic_xds_configs[0]).toMatchObject({ config_status: 'SYNCED' });
    expect(later.generic_xds_configs[0].error_state).toBeUndefined();
  });

  it('matches node ids by any matcher, case folded when asked', () => {
    const streams = [
      stream('Router-1', [type({})]),
      stream('router-2', [type({})]),
      stream('envoy-1', [type({})]),
    ];
    const ids = (node_matchers: object[]) =>
      clientStatus({ node_matchers, exclude_resource_contents: true }, streams, snapshot).config.map(
        (c) => c.node.id,
      );
    expect(ids([{ node_id: { match_pattern: 'prefix', prefix: 'router', ignore_case: true } }])).toEqual([
      'Router-1',
      'router-2',
    ]);
    expect(
      ids([
        { node_id: { match_pattern: 'suffix', suffix: '-1' } },
        { node_id: { match_pattern: 'contains', contains: 'voy' } },
      ]),
    ).toEqual(['Router-1', 'envoy-1']);
    expect(ids([{}])).toHaveLength(3);
    expect(() => ids([{ node_id: {} }])).toThrow(/needs one of exact, prefix/);
  });
});
