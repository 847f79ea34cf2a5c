import { decodeDiscoveryRequest } from '../../src/control-plane/xds/request-decoding';
import {
  discoveryResponseParts,
  encodeDiscoveryResponse,
} from '../../src/control-plane/xds/response-encoding';
import { adsServiceDefinition, type DiscoveryResponse } from '../../src/protocol/ads';

const method = adsServiceDefinition().StreamAggregatedResources;
const T = 'type.googleapis.com/nerve.discovery.v1.EngineCluster';

/** The push loop's hand encoding of DiscoveryResponse against proto-loader's serializer. */
describe('DiscoveryResponse encoding', () => {
  it('reads back as protobuf.js reads its own, for full, empty and shared resource lists', () => {
    const shared = [
      { type_url: T, value: Buffer.from([1, 2, 3]) },
      { type_url: T, value: Buffer.alloc(300, 7) },
      { type_url: T, value: Buffer.alloc(0) },
    ];
    const cases: DiscoveryResponse[] = [
      {
        version_info: 'v1',
        resources: shared,
        type_url: T,
        nonce: '1',
        control_plane: { identifier: 'cp-1' },
      },
      {
        version_info: 'v1',
        resources: shared,
        type_url: T,
        nonce: '2',
        control_plane: { identifier: 'cp-1' },
      },
      { version_info: '', resources: [], type_url: T, nonce: '3' },
      { version_info: 'ü', resources: [{ type_url: '', value: Buffer.from('x') }], type_url: '', nonce: '' },
    ];
    // protobuf.js also writes empty fields it was given; proto3 readers see the same message either way.
    for (const r of cases) {
      const ours = method.responseDeserialize(encodeDiscoveryResponse(r)) as DiscoveryResponse;
      const theirs = method.responseDeserialize(method.responseSerialize(r)) as DiscoveryResponse;
      expect(ours).toEqual(theirs);
      expect(ours.resources.map((a) => Buffer.from(a.value).toString('hex'))).toEqual(
        r.resources.map((a) => a.value.toString('hex')),
      );
    }
    // The shared list's bytes are reused, not re-encoded: a second stream's response differs by its nonce.
    const a = encodeDiscoveryResponse(cases[0]);
    const b = encodeDiscoveryResponse(cases[1]);
    expect(a.length).toBe(b.length);
    expect(a.subarray(0, a.length - 9).equals(b.subarray(0, b.length - 9))).toBe(true);
  });
});

describe('DiscoveryRequest decoding', () => {
  it('reads what protobuf.js writes: the fields the server uses, the rest skipped', () => {
    const cases = [
      {
        version_info: 'v3',
        node: {
          id: 'router-1',
          cluster: 'nerve-router',
          user_agent_name: 'nerve-router',
          user_agent_version: '1.2.3',
          client_features: ['xds.config.supports-resource-ttl', 'envoy.lb.does_not_support_overprovisioning'],
          metadata: { fields: { zone: { string_value: 'a' } } },
          locality: { region: 'r', zone: 'z', sub_zone: '' },
        },
        resource_names: ['a', 'ü'],
        type_url: 'type.googleapis.com/x',
        response_nonce: '17',
        error_detail: { code: 3, message: 'bad cluster', details: [] },
      },
      {
        version_info: '',
        node: null,
        resource_names: [],
        type_url: 't',
        response_nonce: '',
        error_detail: null,
      },
    ];
    for (const c of cases) {
      const ours = decodeDiscoveryRequest(method.requestSerialize(c));
      expect(ours).toEqual({
        version_info: c.version_info,
        node: c.node && {
          id: c.node.id,
          cluster: c.node.cluster,
          user_agent_name: c.node.user_agent_name,
          user_agent_version: c.node.user_agent_version,
          client_features: c.node.client_features,
        },
        resource_names: c.resource_names,
        type_url: c.type_url,
        response_nonce: c.response_nonce,
        error_detail: c.error_detail && { code: 3, message: 'bad cluster' },
      });
    }
    expect(() => decodeDiscoveryRequest(Buffer.from([0x0a, 0x05, 0x61]))).toThrow();
  });

  it('frames a response in parts that read back whole, the shared block as it is', () => {
    const shared = [{ type_url: 't', value: Buffer.alloc(5000, 1) }];
    const r = {
      version_info: 'v',
      resources: shared,
      type_url: 't',
      nonce: '9',
      control_plane: { identifier: 'cp' },
    };
    const [head, block, tail] = discoveryResponseParts(r);
    const whole = Buffer.concat([head, block, tail]);
    expect(whole[0]).toBe(0);
    expect(whole.readUInt32BE(1)).toBe(whole.length - 5);
    expect(method.responseDeserialize(whole.subarray(5))).toEqual(
      method.responseDeserialize(method.responseSerialize(r)),
    );
    expect(discoveryResponseParts({ ...r, nonce: '10' })[1]).toBe(block);
  });
});
