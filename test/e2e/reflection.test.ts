import { TestCluster } from '../helpers/cluster';
import { runPython } from '../helpers/process';

/**
 * Server reflection as grpcurl uses it, checked by an independent and strict protobuf implementation
 * (Python's DescriptorPool refuses files without their dependencies, map entries not named …Entry, and
 * the like): every service's file and its dependencies build a pool, a request is made from JSON with
 * snake_case names, and the call works.
 */
describe('server reflection for grpcurl and other tools', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start([{ name: 'math', type: 'math', instances: 2 }]);
  });
  afterAll(async () => cluster?.stop());

  it('serves protoc-shaped descriptors a DescriptorPool accepts, and a call made from them works', async () => {
    const stdout = await runPython('reflection_client.py', [`127.0.0.1:${cluster.cp.port}`], 30_000);
    const report = JSON.parse(stdout) as {
      services: string[];
      files: string[];
      not_found: number[];
      ads: string;
      request: object;
      reply: { engine: { name: string; instances: { id: string; weight: number }[] } };
    };
    expect(report.services).toEqual(
      expect.arrayContaining([
        'nerve.admin.v1.Admin',
        'envoy.service.discovery.v3.AggregatedDiscoveryService',
        'grpc.health.v1.Health',
      ]),
    );
    expect(report.files).toEqual(
      expect.arrayContaining([
        'nerve/admin/v1/admin.proto',
        'envoy/config/core/v3/base.proto',
        'google/protobuf/any.proto',
        'grpc/health/v1/health.proto',
      ]),
    );
    expect(report.not_found).toEqual([5]);
    expect(report.ads).toBe('envoy.service.discovery.v3.AggregatedDiscoveryService');
    expect(report.request).toEqual({ engine: 'math', instance_id: 'math-2', weight: 300 });
    expect(report.reply.engine.name).toBe('math');
    expect(report.reply.engine.instances.find((i) => i.id === 'math-2')?.weight).toBe(300);
  });
});
