import { EMPTY_SNAPSHOT, nextSnapshot } from '../../src/model/snapshot';
import type {
  DeltaDiscoveryRequest,
  DeltaDiscoveryResponse,
  DiscoveryRequest,
  DiscoveryResponse,
} from '../../src/protocol/ads';
import { SotwStream } from '../../src/control-plane/xds/sotw-stream';
import { DeltaStream } from '../../src/control-plane/xds/delta-stream';
import { decodeWrappedResource } from '../../src/router/xds/ads-codec';
import {
  ENGINE_CLUSTER_TYPE as C,
  ENGINE_OVERRIDES_TYPE as O,
  RESOURCE_WRAPPER_TYPE,
} from '../../src/protocol/type-urls';

const TTL = 4_500;
const inputs = (o: Record<string, string>) =>
  [...Object.entries(o)].map(([name, v]) => ({ name, body: Buffer.from(v) }));

/** Effective clusters for everyone; base clusters and overrides (with a TTL) for clients that support TTLs. */
function snapshot(prev = EMPTY_SNAPSHOT, overrides: Record<string, string> = { calc: 'drain a' }) {
  return nextSnapshot(prev, new Map([[C, inputs({ calc: 'effective' })]]), {
    content: new Map([
      [C, inputs({ calc: 'base' })],
      [O, inputs(overrides)],
    ]),
    ttlMs: new Map([[O, TTL]]),
  });
}

const sotwReq = (p: Partial<DiscoveryRequest>): DiscoveryRequest => ({
  version_info: '',
  node: { id: 'r', cluster: 'c' },
  resource_names: [],
  type_url: C,
  response_nonce: '',
  error_detail: null,
  ...p,
});

function sotw(ttl: boolean) {
  const sent: DiscoveryResponse[] = [];
  const acks: string[] = [];
  const nacks: string[] = [];
  const stream = new SotwStream({
    send: (r) => sent.push(r),
    now: () => 0,
    controlPlaneId: 'cp',
    ttl,
    onAck: (t) => acks.push(t),
    onNack: (_t, _v, e) => nacks.push(e),
  });
  return { sent, acks, nacks, stream };
}

const bodies = (r: DiscoveryResponse) => r.resources.map((a) => Buffer.from(a.value).toString());

describe('resource TTL, server side', () => {
  it('serves a client that supports TTLs the base, and the overrides wrapped with their TTL', () => {
    const { sent, stream } = sotw(true);
    const s = snapshot();
    stream.handleRequest(sotwReq({ type_url: C }), s);
    stream.handleRequest(sotwReq({ type_url: O }), s);
    expect(bodies(sent[0])).toEqual(['base']);
    expect(sent[1].resources.map((a) => a.type_url)).toEqual([RESOURCE_WRAPPER_TYPE]);
    const w = decodeWrappedResource(sent[1].resources[0].value);
    expect(w).toMatchObject({
      name: 'calc',
      version: s.ttlTypes!.get(O)!.resources.get('calc')!.version,
      ttlMs: TTL,
    });
    expect(w.resource?.type_url).toBe(O);
    expect(Buffer.from(w.resource!.value).toString()).toBe('drain a');
  });

  it('serves every other client the clusters with the overrides applied, and no overrides', () => {
    const { sent, stream } = sotw(false);
    const s = snapshot();
    stream.handleRequest(sotwReq({ type_url: C }), s);
    stream.handleRequest(sotwReq({ type_url: O }), s);
    expect(bodies(sent[0])).toEqual(['effective']);
    expect(sent[1].resources).toEqual([]);
    stream.handleRequest(
      sotwReq({ type_url: O, response_nonce: sent[1].nonce, version_info: sent[1].version_info }),
      s,
    );
    stream.heartbeat();
    expect(sent).toHaveLength(2);
  });

  it('heartbeats at the same version without bodies, only when in sync, and not as an ACK', () => {
    const { sent, acks, stream } = sotw(true);
    const s = snapshot();
    stream.handleRequest(sotwReq({ type_url: O }), s);
    stream.heartbeat(); // the first response is not answered yet
    expect(sent).toHaveLength(1);
    stream.handleRequest(
      sotwReq({ type_url: O, response_nonce: '1', version_info: sent[0].version_info }),
      s,
    );
    expect(acks).toEqual([O]);
    stream.heartbeat();
    expect(sent).toHaveLength(2);
    expect(sent[1].version_info).toBe(sent[0].version_info);
    const beat = decodeWrappedResource(sent[1].resources[0].value);
    expect(beat).toMatchObject({ name: 'calc', ttlMs: TTL });
    expect(beat.resource).toBeUndefined();
    stream.handleRequest(
      sotwReq({ type_url: O, response_nonce: '2', version_info: sent[1].version_info }),
      s,
    );
    expect(acks).toEqual([O]);
    expect(stream.status()[0].inSync).toBe(true);
    expect(stream.inSync()).toBe(true);
    stream.heartbeat();
    expect([stream.inSync(), stream.status()[0].inSync]).toEqual([false, false]); // the beat is unanswered
  });

  it('sends the bodies again to a client that NACKs a heartbeat (it let the resource expire)', () => {
    const { sent, nacks, stream } = sotw(true);
    const s = snapshot();
    stream.handleRequest(sotwReq({ type_url: O }), s);
    stream.handleRequest(
      sotwReq({ type_url: O, response_nonce: '1', version_info: sent[0].version_info }),
      s,
    );
    stream.heartbeat();
    stream.handleRequest(
      sotwReq({
        type_url: O,
        response_nonce: '2',
        version_info: '',
        error_detail: { code: 3, message: 'heartbeat for "calc" which this router does not hold' },
      }),
      s,
    );
    expect(nacks).toEqual([]);
    expect(sent).toHaveLength(3);
    expect(decodeWrappedResource(sent[2].resources[0].value).resource).toBeDefined();
  });

  it('pushes a changed override with its body, and nothing once none is left to heartbeat', () => {
    const { sent, stream } = sotw(true);
    const s1 = snapshot();
    stream.handleRequest(sotwReq({ type_url: O }), s1);
    stream.handleRequest(
      sotwReq({ type_url: O, response_nonce: '1', version_info: sent[0].version_info }),
      s1,
    );
    const s2 = snapshot(s1, {});
    stream.onSnapshot(s2);
    expect(sent[1].resources).toEqual([]);
    stream.handleRequest(
      sotwReq({ type_url: O, response_nonce: '2', version_info: sent[1].version_info }),
      s2,
    );
    stream.heartbeat();
    expect(sent).toHaveLength(2);
  });

  it('does the same on delta streams: a TTL on each resource, heartbeats without the resource', () => {
    const sent: DeltaDiscoveryResponse[] = [];
    const stream = new DeltaStream({
      send: (r) => sent.push(r),
      now: () => 0,
      controlPlaneId: 'cp',
      ttl: true,
    });
    const req = (p: Partial<DeltaDiscoveryRequest>): DeltaDiscoveryRequest => ({
      node: { id: 'r', cluster: 'c' },
      type_url: O,
      resource_names_subscribe: [],
      resource_names_unsubscribe: [],
      initial_resource_versions: {},
      response_nonce: '',
      error_detail: null,
      ...p,
    });
    const s = snapshot();
    stream.handleRequest(req({}), s);
    expect(sent[0].resources[0]).toMatchObject({ name: 'calc', ttl: { seconds: 4, nanos: 500_000_000 } });
    expect(sent[0].resources[0].resource).toBeDefined();
    expect(stream.inSync()).toBe(false);
    stream.handleRequest(req({ response_nonce: '1' }), s);
    expect([stream.inSync(), stream.status()[0].inSync]).toEqual([true, true]);
    stream.heartbeat();
    expect(sent).toHaveLength(2);
    expect(sent[1].resources[0]).toEqual({
      name: 'calc',
      version: sent[0].resources[0].version,
      ttl: { seconds: 4, nanos: 500_000_000 },
    });
    // A refused heartbeat: the client lost it, so it is sent whole again.
    stream.handleRequest(req({ response_nonce: '2', error_detail: { code: 3, message: 'not held' } }), s);
    expect(sent).toHaveLength(3);
    expect(sent[2].resources[0].resource).toBeDefined();
  });
});
