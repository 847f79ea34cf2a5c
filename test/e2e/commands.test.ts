import * as grpc from '@grpc/grpc-js';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { MemoryStore } from '../../src/store/memory-store';
import { invoke, logger } from '../helpers/cluster';
import { spawnNerve, type Spawned } from '../helpers/process';
import { waitFor } from '../helpers/wait';

const ZERO_PORTS = ['--api-port', '0', '--xds-port', '0', '--router-port', '0', '--router-admin-port', '0'];
const running: Spawned[] = [];

afterEach(() => {
  for (const p of running.splice(0))
    if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
});

describe('nerve demo', () => {
  it('starts within 5 s, reports healthy, routes a call, and exits 0 on SIGTERM', async () => {
    const started = Date.now();
    const demo = spawnNerve(['demo', ...ZERO_PORTS]);
    running.push(demo);
    await demo.waitForOutput(/ready/);
    expect(Date.now() - started).toBeLessThan(5_000);
    const out = demo.stdout();
    expect(out).toMatch(/Nerve demo: 5 engines, 11 instances/);
    const api = out.match(/(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/nerve)\/health/)![1];
    const routerPort = out.match(/router +127\.0\.0\.1:(\d+)/)![1];

    const health = await fetch(`${api}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({
      status: 'healthy',
      engines: { total: 5, healthy: 5 },
      instances: { total: 11, healthy: 11 },
    });
    const math = (await (await fetch(`${api}/engines/math`)).json()) as { engine: { versions: unknown } };
    expect(math.engine.versions).toEqual([
      { name: 'v1', weight: 90 },
      { name: 'v2', weight: 10 },
    ]);

    const client = new EngineClient(`127.0.0.1:${routerPort}`, grpc.credentials.createInsecure());
    const answer = await invoke(client, 'montecarlo', 'montecarlo', '{"samples":20000}');
    client.close();
    expect(answer.engine).toBe('montecarlo');
    expect(JSON.parse(answer.payload.toString()).pi).toBeCloseTo(3.14, 1);

    demo.child.kill('SIGTERM');
    expect(await demo.exited()).toEqual({ code: 0, signal: null });
  });

  it('scales to 23 engines × 2 instances', async () => {
    const demo = spawnNerve(['demo', ...ZERO_PORTS, '--engines', '23', '--instances', '2']);
    running.push(demo);
    await demo.waitForOutput(/ready/, 20_000);
    expect(demo.stdout()).toMatch(/Nerve demo: 23 engines, 47 instances/);
    const api = demo.stdout().match(/(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/nerve)\/health/)![1];
    const body = (await (await fetch(`${api}/health`)).json()) as { status: string };
    expect(body.status).toBe('healthy');
    demo.child.kill('SIGTERM');
    expect((await demo.exited()).code).toBe(0);
  });

  it('rejects bad flags with a clear message and exit code 2', async () => {
    const bad = spawnNerve(['demo', '--engines', 'many']);
    expect((await bad.exited()).code).toBe(2);
    expect(bad.stderr()).toContain('--engines must be an integer from 1 to 500, got "many"');
    const unknown = spawnNerve(['fly']);
    expect((await unknown.exited()).code).toBe(2);
    expect(unknown.stderr()).toContain('unknown command "fly"');
  });
});

describe('nerve engine --control-plane', () => {
  it('adds itself to its engine on start and removes itself on SIGTERM', async () => {
    const cp = await ControlPlane.start({ store: new MemoryStore(), logger, host: '127.0.0.1', xdsPort: 0 });
    try {
      const engine = spawnNerve([
        'engine',
        '--type',
        'math',
        '--name',
        'pricing',
        '--id',
        'pricing-a',
        '--control-plane',
        `127.0.0.1:${cp.port}`,
      ]);
      running.push(engine);
      await engine.waitForOutput(/ready on (127\.0\.0\.1:\d+)/);
      const view = await cp.admin.getEngine('pricing');
      expect(view.instances).toEqual([
        expect.objectContaining({ id: 'pricing-a', version: 'v1', weight: 100 }),
      ]);
      expect(view.policy.strategy).toBe('round_robin');
      await waitFor(async () => (await cp.admin.health('pricing')).status === 'healthy', 'pricing-a healthy');

      engine.child.kill('SIGTERM');
      expect((await engine.exited()).code).toBe(0);
      expect((await cp.admin.getEngine('pricing')).instances).toEqual([]);
    } finally {
      await cp.stop(500);
    }
  });
});
