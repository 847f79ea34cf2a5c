import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { startApi } from '../../src/api/server';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { DemoEngine } from '../../src/engines/engine-server';
import type { Router } from '../../src/router/router';
import { logger, engineSpec, startControlPlane, startRouter } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

const EXAMPLES = join(__dirname, '..', '..', 'examples', 'clients');
const OPS_KEY = 'ops-key-of-the-examples-test-suite';
const EDGE_KEY = 'edge-key-of-the-examples-test-suite';

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { timeout: 30_000 }, (err, out, errOut) =>
      err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve(out),
    ),
  );
}

interface Report {
  engines: string[];
  versions: { name: string; weight: number }[];
  history: string[];
  call: { payload: string; instance: string; version: string };
}

describe('client examples (examples/clients) against a control plane with auth on and a router', () => {
  let engine: DemoEngine;
  let cp: ControlPlane;
  let api: Awaited<ReturnType<typeof startApi>>;
  let router: Router;

  beforeAll(async () => {
    engine = await new DemoEngine({
      type: 'echo',
      name: 'echo',
      id: 'echo-1',
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    cp = await startControlPlane(
      [
        engineSpec({
          name: 'echo',
          versions: [{ name: 'v1', weight: 100 }],
          instances: [{ id: 'echo-1', address: engine.address }],
          // As startPlane's: a loaded CI host once made this lone instance's probe miss its 1 s, and
          // the examples met an engine with no healthy instance. What is under test is the clients.
          policy: { healthCheck: { timeoutMs: 2_000, unhealthyThreshold: 5 } },
        }),
      ],
      {
        auth: {
          enabled: true,
          apiKeys: [
            { name: 'ops', role: 'admin', secret: OPS_KEY },
            { name: 'edge', role: 'dataplane', secret: EDGE_KEY },
          ],
        },
      },
    );
    api = await startApi(cp, logger, '127.0.0.1', 0);
    router = await startRouter(cp, 'edge', { credentials: { token: EDGE_KEY } });
    await waitFor(() => router.state.engine('echo') !== undefined, 'the router has the echo engine');
  });

  afterAll(async () => {
    await router.stop();
    await api.close();
    await cp.stop(500);
    await engine.stop();
  });

  const flags = () => [
    '--api',
    `http://127.0.0.1:${api.port}/api/v1/nerve`,
    '--router',
    `127.0.0.1:${router.port}`,
    '--engine',
    'echo',
    '--token',
    OPS_KEY,
  ];

  const check = (r: Report, language: string) => {
    expect(r.engines).toEqual(['echo']);
    expect(r.versions.map((v) => v.weight)).toEqual([100, 0]);
    expect(r.history[0]).toMatch(/^replace engine echo/);
    expect(r.call).toEqual({ payload: `hello from ${language}`, instance: 'echo-1', version: 'v1' });
  };

  it('node-client.mjs', async () => {
    check(
      JSON.parse(await run(process.execPath, [join(EXAMPLES, 'node-client.mjs'), ...flags()])) as Report,
      'node',
    );
  });

  it('python-client.py', async () => {
    check(
      JSON.parse(await run('/usr/bin/python3', [join(EXAMPLES, 'python-client.py'), ...flags()])) as Report,
      'python',
    );
  });

  it('fails with the API’s own message when the credentials are wrong', async () => {
    const bad = flags().slice(0, -1).concat('nrv_wrong');
    await expect(run(process.execPath, [join(EXAMPLES, 'node-client.mjs'), ...bad])).rejects.toThrow(
      /401 UNAUTHENTICATED: API key not recognised/,
    );
  });
});
