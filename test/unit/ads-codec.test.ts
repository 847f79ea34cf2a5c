import type * as grpc from '@grpc/grpc-js';
import { adsServiceDefinition } from '../../src/protocol/ads';
import { decodeDiscoveryResponse, encodeDiscoveryRequest } from '../../src/router/xds/ads-codec';

/** The router's hand codec against proto-loader's, which reads Envoy's own proto files. */
describe("router's ADS codec", () => {
  const method = adsServiceDefinition().StreamAggregatedResources as grpc.MethodDefinition<object, object>;

  it('encodes a DiscoveryRequest as Envoy reads it, NACK detail included', () => {
    const request = {
      version_info: 'v7',
      node: {
        id: 'router-1',
        cluster: 'nerve-router',
        user_agent_name: 'nerve-router',
        user_agent_version: '0.1.0',
      },
      resource_names: ['a', 'b'],
      type_url: 'type.googleapis.com/nerve.discovery.v1.EngineCluster',
      response_nonce: 'n3',
      error_detail: { code: 3, message: 'EngineCluster "x": bad ✗' },
    };
    const decoded = method.requestDeserialize(Buffer.from(encodeDiscoveryRequest(request))) as Record<
      string,
      unknown
    >;
    expect(decoded).toMatchObject({
      ...request,
      node: { ...request.node, user_agent_version_type: 'user_agent_version' },
      error_detail: { code: 3, message: 'EngineCluster "x": bad ✗', details: [] },
    });
    const ack = method.requestDeserialize(
      Buffer.from(encodeDiscoveryRequest({ ...request, node: null, error_detail: null, resource_names: [] })),
    );
    expect(ack).toMatchObject({ node: null, error_detail: null, resource_names: [] });
  });

  it('decodes a DiscoveryResponse as the control plane writes it', () => {
    const bytes = method.responseSerialize({
      version_info: 'v9',
      resources: [
        { type_url: 'type.googleapis.com/x.Y', value: Buffer.from([1, 2, 3]) },
        { type_url: 'type.googleapis.com/x.Y', value: Buffer.alloc(0) },
      ],
      canary: true,
      type_url: 'type.googleapis.com/x.Y',
      nonce: '12',
      control_plane: { identifier: 'cp-1' },
    });
    const r = decodeDiscoveryResponse(bytes);
    expect(r).toEqual({
      version_info: 'v9',
      resources: [
        { type_url: 'type.googleapis.com/x.Y', value: new Uint8Array([1, 2, 3]) },
        { type_url: 'type.googleapis.com/x.Y', value: new Uint8Array(0) },
      ],
      type_url: 'type.googleapis.com/x.Y',
      nonce: '12',
    });
  });
});
