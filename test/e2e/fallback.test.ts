import * as grpc from '@grpc/grpc-js';
import { invoke, invokeError, TestCluster } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

describe('failover to fallback engines', () => {
  let cluster: TestCluster;

  beforeAll(async () => {
    cluster = await TestCluster.start([
      { name: 'primary', type: 'echo', instances: 2, policy: { fallbackEngines: ['backup'] } },
      { name: 'backup', type: 'echo', instances: 1 },
    ]);
  });
  afterAll(async () => cluster?.stop());

  it('serves from the fallback engine when the primary cannot, and names every reason when neither can', async () => {
    const client = cluster.engineClient();
    expect((await invoke(client, 'primary', 'echo', 'x')).engine).toBe('primary');
    await cluster.cp.admin.drainInstance('primary', 'primary-1');
    await cluster.cp.admin.drainInstance('primary', 'primary-2');
    await waitFor(() => cluster.routable('primary').length === 0, 'primary out of rotation');
    const served = await invoke(client, 'primary', 'echo', 'x');
    expect(served).toMatchObject({ engine: 'backup', instanceId: 'backup-1' });

    await cluster.cp.admin.drainInstance('backup', 'backup-1');
    await waitFor(() => cluster.routable('backup').length === 0, 'backup out of rotation');
    const err = await invokeError(client, 'primary', 'echo');
    expect(err.code).toBe(grpc.status.UNAVAILABLE);
    expect(err.details).toBe(
      'engine "primary" has no healthy instance (2 draining); engine "backup" has no healthy instance (1 draining)',
    );
  });
});
