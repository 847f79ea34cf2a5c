import { EMPTY_SNAPSHOT, nextSnapshot, type Snapshot } from '../../src/model/snapshot';
import type { DiscoveryRequest, DiscoveryResponse } from '../../src/protocol/ads';
import { SotwStream, XdsProtocolError } from '../../src/control-plane/xds/sotw-stream';
import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE,
  CLUSTER_TYPE,
  LISTENER_TYPE,
  ROUTE_CONFIGURATION_TYPE,
} from '../../src/protocol/type-urls';

const T = 'type.googleapis.com/test.Thing';
const U = 'type.googleapis.com/test.Other';

function snap(prev: Snapshot, things: Record<string, string>, others: Record<string, string> = {}): Snapshot {
  const toInputs = (o: Record<string, string>) =>
    Object.entries(o).map(([name, v]) => ({ name, body: Buffer.from(v) }));
  return nextSnapshot(
    prev,
    new Map([
      [T, toInputs(things)],
      [U, toInputs(others)],
    ]),
  );
}

function req(partial: Partial<DiscoveryRequest>): DiscoveryRequest {
  return {
    version_info: '',
    node: { id: 'n1', cluster: 'c' },
    resource_names: [],
    type_url: T,
    response_nonce: '',
    error_detail: null,
    ...partial,
  };
}

function setup() {
  const sent: DiscoveryResponse[] = [];
  const nacks: string[] = [];
  const stream = new SotwStream({
    send: (r) => sent.push(r),
    now: () => 1000,
    controlPlaneId: 'cp',
    onNack: (_t, _v, e) => nacks.push(e),
  });
  const names = (r: DiscoveryResponse) => r.resources.map((a) => Buffer.from(a.value).toString());
  return { sent, nacks, stream, names };
}

describe('SotwStream (state of the world, one ADS stream)', () => {
  it('answers the first wildcard request with every resource, then waits for the ACK', () => {
    const { sent, stream, names } = setup();
    const s1 = snap(EMPTY_SNAPSHOT, { a: 'A1', b: 'B1' });
    stream.handleRequest(req({}), s1);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({
      type_url: T,
      version_info: s1.types.get(T)!.version,
      nonce: '1',
      control_plane: { identifier: 'cp' },
    });
    expect(names(sent[0]).sort()).toEqual(['A1', 'B1']);
    const v1 = s1.types.get(T)!.version;
    stream.handleRequest(req({ version_info: v1, response_nonce: '1' }), s1);
    expect(sent).toHaveLength(1);
    expect(stream.status()[0]).toMatchObject({ ackedVersion: v1, sentVersion: v1, wildcard: true });
  });

  it('sends nothing to a wildcard client that reconnects announcing the version served, until it changes', () => {
    const { sent, stream, names } = setup();
    const s1 = snap(EMPTY_SNAPSHOT, { a: 'A1' });
    // Built by "another replica": same content, another serial, the same version.
    const elsewhere = snap(snap(EMPTY_SNAPSHOT, { z: 'Z' }), { a: 'A1' });
    stream.handleRequest(req({ version_info: elsewhere.types.get(T)!.version }), s1);
    expect(sent).toHaveLength(0);
    expect(stream.status()[0]).toMatchObject({ inSync: true, ackedVersion: s1.types.get(T)!.version });
    stream.onSnapshot(snap(s1, { a: 'A2' }));
    expect(sent).toHaveLength(1);
    expect(names(sent[0])).toEqual(['A2']);
    // An older version announced: the current content is sent at once.
    const other = setup();
    other.stream.handleRequest(req({ version_info: 'old' }), s1);
    expect(other.sent).toHaveLength(1);
  });

  it('pushes on change and only on change', () => {
    const { sent, stream, names } = setup();
    const s1 = snap(EMPTY_SNAPSHOT, { a: 'A1' }, { o: 'O1' });
    stream.handleRequest(req({}), s1);
    stream.handleRequest(req({ version_info: '1', response_nonce: '1' }), s1);
    const s2 = snap(s1, { a: 'A1' }, { o: 'O2' }); // only the other type changed
    stream.onSnapshot(s2);
    expect(sent).toHaveLength(1);
    const s3 = snap(s2, { a: 'A2' }, { o: 'O2' });
    stream.onSnapshot(s3);
    expect(sent).toHaveLength(2);
    expect(names(sent[1])).toEqual(['A2']);
    expect(sent[1].version_info).toBe(s3.types.get(T)!.version);
  });

  it('holds a change while a response is unanswered and sends the newest one after the ACK', () => {
    const { sent, stream, names } = setup();
    const s1 = snap(EMPTY_SNAPSHOT, { a: 'A1' });
    stream.handleRequest(req({}), s1);
    const s2 = snap(s1, { a: 'A2' });
    stream.onSnapshot(s2);
    const s3 = snap(s2, { a: 'A3' });
    stream.onSnapshot(s3);
    expect(sent).toHaveLength(1);
    stream.handleRequest(req({ version_info: '1', response_nonce: '1' }), s3);
    expect(sent).toHaveLength(2);
    expect(names(sent[1])).toEqual(['A3']);
  });

  it('ignores a request with a stale nonce', () => {
    const { sent, stream } = setup();
    const s1 = snap(EMPTY_SNAPSHOT, { a: 'A1' });
    stream.handleRequest(req({}), s1);
    stream.handleRequest(req({ version_info: '1', response_nonce: '1' }), s1);
    stream.onSnapshot(snap(s1, { a: 'A2' })); // nonce 2 outstanding
    stream.handleRequest(req({ version_info: '1', response_nonce: '1' }), snap(s1, { a: 'A2' })); // late duplicate of the old ACK
    expect(stream.status()[0].ackedVersion).toBe('1');
    expect(sent).toHaveLength(2);
    stream.handleRequest(req({ version_info: '2', response_nonce: '2' }), snap(s1, { a: 'A2' }));
    expect(stream.status()[0].ackedVersion).toBe('2');
  });

  it('records a NACK with its error, does not resend the rejected version, and sends the next change', () => {
    const { sent, stream, nacks, names } = setup();
    const s1 = snap(EMPTY_SNAPSHOT, { a: 'A1' });
    stream.handleRequest(req({}), s1);
    stream.handleRequest(req({ version_info: '1', response_nonce: '1' }), s1);
    const s2 = snap(s1, { a: 'BAD' });
    stream.onSnapshot(s2);
    stream.handleRequest(
      req({ version_info: '1', response_nonce: '2', error_detail: { code: 3, message: 'a is bad' } }),
      s2,
    );
    expect(nacks).toEqual(['a is bad']);
    expect(stream.status()[0]).toMatchObject({
      ackedVersion: '1',
      nack: { version: s2.types.get(T)!.version, error: 'a is bad', atMs: 1000 },
    });
    stream.onSnapshot(s2); // same content again: no loop
    expect(sent).toHaveLength(2);
    const s3 = snap(s2, { a: 'A3' });
    stream.onSnapshot(s3);
    expect(sent).toHaveLength(3);
    expect(names(sent[2])).toEqual(['A3']);
  });

  it('remembers names that do not exist yet and sends them when they appear', () => {
    const { sent, stream, names } = setup();
    const s1 = snap(EMPTY_SNAPSHOT, { a: 'A1' });
    stream.handleRequest(req({ resource_names: ['later'] }), s1);
    expect(sent).toHaveLength(1);
    expect(sent[0].resources).toHaveLength(0);
    stream.handleRequest(req({ resource_names: ['later'], version_info: '1', response_nonce: '1' }), s1);
    const s2 = snap(s1, { a: 'A2' }); // an unrelated resource changes: nothing for this client
    stream.onSnapshot(s2);
    expect(sent).toHaveLength(1);
    const s3 = snap(s2, { a: 'A2', later: 'L1' });
    stream.onSnapshot(s3);
    expect(sent).toHaveLength(2);
    expect(names(sent[1])).toEqual(['L1']);
  });

  it('answers a changed subscription with the newly requested set', () => {
    const { sent, stream, names } = setup();
    const s1 = snap(EMPTY_SNAPSHOT, { a: 'A1', b: 'B1' });
    stream.handleRequest(req({ resource_names: ['a'] }), s1);
    stream.handleRequest(req({ resource_names: ['a', 'b'], version_info: '1', response_nonce: '1' }), s1);
    expect(sent).toHaveLength(2);
    expect(names(sent[1]).sort()).toEqual(['A1', 'B1']);
    expect(stream.status()[0]).toMatchObject({ wildcard: false, subscribed: ['a', 'b'] });
  });

  it('keeps types independent on one stream', () => {
    const { sent, stream } = setup();
    const s1 = snap(EMPTY_SNAPSHOT, { a: 'A1' }, { o: 'O1' });
    stream.handleRequest(req({}), s1);
    stream.handleRequest(req({ type_url: U }), s1);
    expect(sent.map((r) => r.type_url)).toEqual([T, U]);
    expect(sent.map((r) => r.nonce)).toEqual(['1', '2']);
  });

  it('pushes a change in make-before-break order: clusters, endpoints, listeners, routes', () => {
    const { sent, stream } = setup();
    const types = [ROUTE_CONFIGURATION_TYPE, LISTENER_TYPE, CLUSTER_LOAD_ASSIGNMENT_TYPE, CLUSTER_TYPE];
    const build = (prev: Snapshot, v: string) =>
      nextSnapshot(prev, new Map(types.map((t) => [t, [{ name: 'e', body: Buffer.from(v) }]])));
    const s1 = build(EMPTY_SNAPSHOT, '1');
    for (const t of types) stream.handleRequest(req({ type_url: t }), s1); // subscribed routes first
    sent.forEach((r) =>
      stream.handleRequest(
        req({ type_url: r.type_url, version_info: r.version_info, response_nonce: r.nonce }),
        s1,
      ),
    );
    sent.length = 0;
    stream.onSnapshot(build(s1, '2'));
    expect(sent.map((r) => r.type_url)).toEqual([
      CLUSTER_TYPE,
      CLUSTER_LOAD_ASSIGNMENT_TYPE,
      LISTENER_TYPE,
      ROUTE_CONFIGURATION_TYPE,
    ]);
  });

  it('rejects a request without a type URL', () => {
    const { stream } = setup();
    expect(() => stream.handleRequest(req({ type_url: '' }), EMPTY_SNAPSHOT)).toThrow(XdsProtocolError);
  });
});
