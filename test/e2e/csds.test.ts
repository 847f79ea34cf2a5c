import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { createAdsClient, type DiscoveryResponse, LOADER_OPTIONS } from '../../src/protocol/ads';
import { CLUSTER_TYPE, ENGINE_CLUSTER_TYPE } from '../../src/protocol/type-urls';
import { internals } from '../helpers/internals';
import { TestCluster } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

interface GenericXdsConfig {
  type_url: string;
  name: string;
  version_info: string;
  xds_config: { type_url: string; value: Buffer } | null;
  config_status: string;
  client_status: string;
  error_state: { details: string; version_info: string } | null;
}
interface ClientStatusResponse {
  config: { node: { id: string }; generic_xds_configs: GenericXdsConfig[] }[];
}

interface CsdsClient extends grpc.Client {
  FetchClientStatus(
    req: object,
    cb: (err: grpc.ServiceError | null, res?: ClientStatusResponse) => void,
  ): grpc.ClientUnaryCall;
  StreamClientStatus(): grpc.ClientDuplexStream<object, ClientStatusResponse>;
}

/**
 * CSDS (envoy.service.status.v3, gRFC A40) beside ADS, asked by a client of the standard proto (grpc-js
 * with the pinned Envoy protos): what every connected client holds, per type and resource, its ACK or
 * NACK, and the error of a NACK.
 */
describe('CSDS: the standard client status service', () => {
  let cluster: TestCluster;
  let csds: CsdsClient;
  const ads = [] as ReturnType<typeof createAdsClient>[];

  beforeAll(async () => {
    cluster = await TestCluster.start([{ name: 'calc', type: 'math', instances: 2 }]);
    const definition = protoLoader.loadSync('envoy/service/status/v3/csds.proto', LOADER_OPTIONS);
    const Ctor = grpc.makeGenericClientConstructor(
      definition['envoy.service.status.v3.ClientStatusDiscoveryService'] as grpc.ServiceDefinition,
      'ClientStatusDiscoveryService',
    );
    csds = new Ctor(
      `127.0.0.1:${cluster.cp.port}`,
      grpc.credentials.createInsecure(),
    ) as unknown as CsdsClient;
  });
  afterAll(async () => {
    csds?.close();
    for (const c of ads) c.close();
    await cluster?.stop();
  });

  const fetch = (req: object) =>
    new Promise<ClientStatusResponse>((resolve, reject) =>
      csds.FetchClientStatus(req, (err, res) => (err ? reject(err) : resolve(res!))),
    );

  it('shows the router SYNCED and ACKED on every type, with versions and contents', async () => {
    const nodeId = internals(cluster.cp).ads.clients()[0].nodeId;
    const res = await waitFor(async () => {
      const r = await fetch({});
      const mine = r.config.find((c) => c.node.id === nodeId);
      return mine && mine.generic_xds_configs.every((g) => g.config_status === 'SYNCED') && mine;
    }, 'the router in sync');
    const clusters = res.generic_xds_configs.filter((g) => g.type_url === ENGINE_CLUSTER_TYPE);
    expect(clusters.map((g) => g.name)).toContain('calc');
    for (const g of res.generic_xds_configs) {
      expect(g.client_status).toBe('ACKED');
      expect(g.version_info).not.toBe('');
    }
    expect(clusters[0].xds_config!.type_url).toBe(ENGINE_CLUSTER_TYPE);
    expect(clusters[0].xds_config!.value.length).toBeGreaterThan(0);
    const bare = await fetch({ exclude_resource_contents: true });
    expect(bare.config.flatMap((c) => c.generic_xds_configs).every((g) => g.xds_config === null)).toBe(true);
  });

  it('filters by node id, and refuses a matcher it cannot honour', async () => {
    const nodeId = internals(cluster.cp).ads.clients()[0].nodeId;
    const byPrefix = await fetch({ node_matchers: [{ node_id: { prefix: nodeId.slice(0, 3) } }] });
    expect(byPrefix.config.map((c) => c.node.id)).toContain(nodeId);
    expect((await fetch({ node_matchers: [{ node_id: { exact: 'nobody' } }] })).config).toEqual([]);
    const byRegex = await fetch({ node_matchers: [{ node_id: { safe_regex: { regex: '.*' } } }] });
    expect(byRegex.config.length).toBeGreaterThan(0);
    await expect(
      fetch({ node_matchers: [{ node_id: { safe_regex: { regex: '(a)\\1' } } }] }),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
    });
    await expect(
      fetch({ node_matchers: [{ node_metadatas: [{ path: [{ key: 'x' }], value: {} }] }] }),
    ).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: expect.stringMatching(/node_metadatas/),
    });
  });

  it('shows a NACK as ERROR with its details, on the unary and the streaming method', async () => {
    const client = createAdsClient(`127.0.0.1:${cluster.cp.port}`);
    ads.push(client);
    const stream = client.StreamAggregatedResources();
    stream.on('error', () => undefined);
    const first = new Promise<DiscoveryResponse>((resolve) => stream.once('data', resolve));
    const request = {
      node: { id: 'csds-nacker', cluster: 't' },
      type_url: CLUSTER_TYPE,
      resource_names: [],
      version_info: '',
      response_nonce: '',
      error_detail: null,
    };
    stream.write(request);
    const r = await first;
    stream.write({
      ...request,
      response_nonce: r.nonce,
      error_detail: { code: 3, message: 'cluster calc: bad' },
    });
    const live = csds.StreamClientStatus();
    const answers: ClientStatusResponse[] = [];
    live.on('data', (a: ClientStatusResponse) => answers.push(a));
    live.on('error', () => undefined);
    const nacked = await waitFor(async () => {
      live.write({ node_matchers: [{ node_id: { exact: 'csds-nacker' } }] });
      await waitFor(() => answers.length > 0, 'an answer');
      const g = answers.pop()!.config[0]?.generic_xds_configs[0];
      return g?.config_status === 'ERROR' && g;
    }, 'the NACK');
    expect(nacked).toMatchObject({
      type_url: CLUSTER_TYPE,
      client_status: 'NACKED',
      version_info: '',
      error_state: { details: 'cluster calc: bad', version_info: r.version_info },
      xds_config: null,
    });
    live.end();
    stream.cancel();
  });
});
