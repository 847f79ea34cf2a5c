import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TestCluster } from '../helpers/cluster';

/** Debian's interpreter, where python3-grpcio and python3-protobuf live (.ci/run installs them). */
const PYTHON = '/usr/bin/python3';

/**
 * Server reflection as grpcurl uses it, checked by an independent and strict protobuf implementation
 * (Python's DescriptorPool refuses files without their dependencies, map entries not named …Entry, and
 * the like): every service's file and its dependencies build a pool, a request is made from JSON with
 * snake_case names, and the call works.
 */
describe('server reflection for grpcurl and other tools', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    if (!existsSync(PYTHON))
      throw new Error(`${PYTHON} is missing: install Debian's python3-grpcio (.ci/run does)`);
    cluster = await TestCluster.start([{ name: 'math', type: 'math', instances: 2 }]);
  });
  afterAll(async () => cluster?.stop());

  it('serves protoc-shaped descriptors a DescriptorPool accepts, and a call made from them works', async () => {
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        PYTHON,
        [join(__dirname, '..', 'interop', 'reflection_client.py'), `127.0.0.1:${cluster.cp.port}`],
        { timeout: 30_000 },
        (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out)),
      ),
    );
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
