import { encodeDiscoveryResponse } from '../../src/control-plane/xds/response-encoding';
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
