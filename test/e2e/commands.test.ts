import * as grpc from '@grpc/grpc-js';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineClient } from '../../gen/nerve/engine/v1/engine';
import { ControlPlane } from '../../src/control-plane/control-plane';
import { DemoEngine } from '../../src/engines/engine-server';
import { MemoryStore } from '../../src/store/memory-store';
import { invoke, logger } from '../helpers/cluster';
import { spawnNerve, type Spawned } from '../helpers/process';
import { waitFor } from '../helpers/wait';

const ZERO_PORTS = ['--api-port', '0', '--xds-port', '0', '--router-port', '0', '--router-admin-port', '0'];
const ZERO_ENV = ['API_PORT', 'XDS_PORT', 'ROUTER_PORT', 'ROUTER_ADMIN_PORT'].map((k) => [k, '0'] as const);
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

  it('on a terminal, prints its banner before any log line and then logs short human lines', async () => {
    // LOG_FORMAT=text is what a terminal gets: the test's pipe is no TTY.
    const demo = spawnNerve(['demo', ...ZERO_PORTS], { LOG_LEVEL: 'info', LOG_FORMAT: 'text' });
    running.push(demo);
    await demo.waitForOutput(/ready in \d+ ms/);
    // Nothing but warnings before the banner: a healthy start has none.
    expect(demo.stderr()).toBe('');
    demo.child.kill('SIGTERM');
    await demo.exited();
    const lines = demo.stderr().trim().split('\n');
    expect(lines[0]).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}demo {2}shutting down {2}signal=SIGTERM/);
    expect(lines.every((l) => !l.startsWith('{'))).toBe(true);
  });

  it('logs each part of the demo as itself (control-plane, router, engine), as it would run alone', async () => {
    const demo = spawnNerve(['demo', ...ZERO_PORTS], { LOG_LEVEL: 'info' });
    running.push(demo);
    await demo.waitForOutput(/ready/);
    await waitFor(() => demo.stderr().includes('"component":"router"'), 'a router log line');
    const components = new Set(
      demo
        .stderr()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => (JSON.parse(l) as { component: string }).component),
    );
    expect([...components]).toEqual(expect.arrayContaining(['control-plane', 'router']));
    demo.child.kill('SIGTERM');
    expect((await demo.exited()).code).toBe(0);
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

  it('the container entrypoint runs routers with a small V8 young generation, unless NODE_OPTIONS is set', async () => {
    const entrypoint = join(__dirname, '..', '..', 'bin', 'docker-entrypoint.sh');
    const run = (env: NodeJS.ProcessEnv) => {
      const child = spawn(
        'sh',
        [entrypoint, 'router', '--control-plane', '127.0.0.1:1', '--port', '0', '--admin-port', '0'],
        {
          env: { ...env, LOG_LEVEL: 'warn' },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      return new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (!out.includes('ready')) return;
          // exec: the shell's pid is now node's.
          const environ = readFileSync(`/proc/${child.pid}/environ`, 'utf8').split('\0');
          child.kill('SIGTERM');
          resolve(environ.find((e) => e.startsWith('NODE_OPTIONS=')) ?? '');
        });
        child.once('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
      });
    };
    const env = { ...process.env };
    delete env.NODE_OPTIONS;
    expect(await run(env)).toBe('NODE_OPTIONS=--max-semi-space-size=2');
    expect(await run({ ...env, NODE_OPTIONS: '--max-old-space-size=256' })).toBe(
      'NODE_OPTIONS=--max-old-space-size=256',
    );
  });

  it('rejects bad flags with a clear message and exit code 2', async () => {
    const bad = spawnNerve(['demo', '--engines', 'many']);
    expect((await bad.exited()).code).toBe(2);
    expect(bad.stderr()).toContain('--engines must be an integer from 1 to 500, got "many"');
    const unknown = spawnNerve(['fly']);
    expect((await unknown.exited()).code).toBe(2);
    expect(unknown.stderr()).toContain('unknown command "fly"');
    // Checked before anything listens, and no stack trace: what is wrong, and where the flags are listed.
    const bogus = spawnNerve(['engine', '--type', 'bogus', '--port', '0']);
    expect((await bogus.exited()).code).toBe(2);
    expect(bogus.stderr()).toContain('--type "bogus" is not a demo engine type; known: echo, math');
    expect(bogus.stderr()).toContain('nerve engine --help');
    expect(bogus.stderr()).not.toMatch(/\n\s+at /);
    expect(bogus.stdout()).toBe('');
    // Half a Sentinel setting: refused before anything listens, naming what is missing.
    const half = spawnNerve(['control-plane', '--redis-sentinels', '127.0.0.1:26379', '--xds-port', '0'], {
      REDIS_PASSWORD: 'not-shown',
    });
    expect((await half.exited()).code).toBe(2);
    expect(half.stderr()).toContain('needs REDIS_SENTINEL_NAME (--redis-sentinel-name, redisSentinelName)');
    expect(half.stderr()).not.toContain('not-shown');
  });

  it('--help on every command lists its flags and exits 0; --version prints the version', async () => {
    for (const command of ['demo', 'control-plane', 'router', 'engine']) {
      const help = spawnNerve([command, '--help']);
      expect(await help.exited()).toEqual({ code: 0, signal: null });
      expect(help.stdout()).toContain(`usage: nerve ${command} [flags]`);
      expect(help.stdout()).toContain('--log-level');
    }
    const router = spawnNerve(['router', '-h']);
    await router.exited();
    expect(router.stdout()).toMatch(
      /--h2-max-connections VALUE +HTTP\/2 limit maxConnections \(default 10000/,
    );
    expect(router.stdout()).toContain('[ROUTER_H2_MAX_CONNECTIONS]');
    const version = spawnNerve(['--version']);
    expect((await version.exited()).code).toBe(0);
    const { version: expected } = JSON.parse(
      readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8'),
    ) as {
      version: string;
    };
    expect(version.stdout().trim()).toBe(`nerve ${expected} (node ${process.version})`);
  });

  it('a port in use exits 2 naming the setting, without a stack trace', async () => {
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
    const taken = (holder.address() as net.AddressInfo).port;
    try {
      const cp = spawnNerve([
        'control-plane',
        '--host',
        '127.0.0.1',
        '--xds-port',
        '0',
        '--api-port',
        String(taken),
      ]);
      expect((await cp.exited()).code).toBe(2);
      expect(cp.stderr()).toContain(`API_PORT (--api-port) ${taken} is in use by another process`);
      expect(cp.stderr()).not.toMatch(/\n\s+at /);
      // The demo checks every port before anything listens: no engine started, then failed.
      const demo = spawnNerve(
        ['demo', ...ZERO_PORTS, '--api-port', String(taken), '--xds-port', String(taken)],
        {
          LOG_LEVEL: 'info',
        },
      );
      expect((await demo.exited()).code).toBe(2);
      expect(demo.stderr()).toContain(`API_PORT (--api-port) ${taken} is in use by another process`);
      expect(demo.stderr()).toContain(`XDS_PORT (--xds-port) ${taken} is also API_PORT (--api-port)`);
      expect(demo.stderr()).not.toMatch(/listening/);
    } finally {
      holder.close();
    }
  });

  it('npm start stops with the demo when npm is sent SIGTERM (no orphaned demo)', async () => {
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: join(__dirname, '..', '..'),
      env: {
        ...process.env,
        API_PORT: '0',
        XDS_PORT: '0',
        ROUTER_PORT: '0',
        ROUTER_ADMIN_PORT: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      // npm start builds dist/ first when the sources are newer (a checkout, an edit): allow for it.
      await waitFor(() => /ready/.test(out), 'the demo to be ready', 90_000);
      const api = out.match(/(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/nerve)\/health/)![1];
      expect((await fetch(`${api}/health`)).status).toBe(200);
      npm.kill('SIGTERM');
      await waitFor(
        () =>
          fetch(`${api}/health`).then(
            () => false,
            () => true,
          ),
        'the demo to stop when npm was told to',
        15_000,
      );
    } finally {
      npm.kill('SIGKILL');
    }
  }, 120_000);
});

describe('Ctrl-C on npm start', () => {
  it('drains once: the SIGINT a terminal sends the group and npm forwards again is one press', async () => {
    // As a terminal does: the whole foreground process group gets the signal, npm then forwards it.
    const npm = spawn('npm', ['start', '--silent'], {
      cwd: join(__dirname, '..', '..'),
      detached: true,
      env: { ...process.env, ...Object.fromEntries(ZERO_ENV), LOG_LEVEL: 'info', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    npm.stdout.on('data', (d: Buffer) => (out += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => /ready in \d+ ms/.test(out), 'the demo to be ready', 90_000);
      const pressed = Date.now();
      process.kill(-npm.pid!, 'SIGINT');
      await exited;
      expect(Date.now() - pressed).toBeLessThan(5_000);
      expect(out).not.toMatch(/second signal/);
      expect(out).toMatch(/"message":"stopped"/);
    } finally {
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }, 120_000);
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
      const view = await cp.admin.views.getEngine('pricing');
      expect(view.instances).toEqual([
        expect.objectContaining({ id: 'pricing-a', version: 'v1', weight: 100 }),
      ]);
      expect(view.policy.strategy).toBe('round_robin');
      await waitFor(
        async () => (await cp.admin.views.health('pricing')).status === 'healthy',
        'pricing-a healthy',
      );

      engine.child.kill('SIGTERM');
      expect((await engine.exited()).code).toBe(0);
      expect((await cp.admin.views.getEngine('pricing')).instances).toEqual([]);
    } finally {
      await cp.stop(500);
    }
  });
});

describe('nerve control-plane --config and nerve router', () => {
  it('loads engines from YAML, serves them over REST, and a separate router process routes to them', async () => {
    const engine = await new DemoEngine({
      type: 'crypto',
      id: 'c1',
      host: '127.0.0.1',
      port: 0,
      logger,
    }).start();
    const dir = mkdtempSync(join(tmpdir(), 'nerve-'));
    const file = join(dir, 'nerve.yaml');
    writeFileSync(
      file,
      `host: 127.0.0.1\nengines:\n  - name: crypto\n    instances:\n      - { id: c1, address: "${engine.address}" }\n    policy:\n      healthCheck: { intervalMs: 100 }\n`,
    );
    try {
      const cp = spawnNerve(['control-plane', '--config', file, '--api-port', '0', '--xds-port', '0']);
      running.push(cp);
      const [, xds, api] = await cp.waitForOutput(
        /xDS\/admin gRPC on (127\.0\.0\.1:\d+), REST on (http:\/\/\S+)/,
      );
      const engines = (await (await fetch(`${api}/engines`)).json()) as {
        engines: { name: string; instances: { id: string }[] }[];
      };
      expect(engines.engines.map((e) => [e.name, e.instances.map((i) => i.id)])).toEqual([
        ['crypto', ['c1']],
      ]);

      const router = spawnNerve([
        'router',
        '--control-plane',
        xds,
        '--port',
        '0',
        '--admin-port',
        '0',
        '--host',
        '127.0.0.1',
        '--id',
        'edge-1',
      ]);
      running.push(router);
      const [, routerAddress, adminUrl] = await router.waitForOutput(
        /gRPC ingress on (127\.0\.0\.1:\d+), admin on (http:\/\/\S+)\/metrics/,
      );
      await waitFor(async () => (await fetch(`${adminUrl}/ready`)).status === 200, 'router ready');
      const client = new EngineClient(routerAddress, grpc.credentials.createInsecure());
      const answer = await waitFor(
        () => invoke(client, 'crypto', 'sha256', '{"data":"abc"}').catch(() => undefined),
        'a routed call',
      );
      client.close();
      expect(answer.instanceId).toBe('c1');
      const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
      expect(metrics).toMatch(
        /nerve_router_requests_total\{engine="crypto",instance="c1",outcome="ok",router="edge-1"\} [1-9]/,
      );

      router.child.kill('SIGTERM');
      cp.child.kill('SIGTERM');
      expect((await router.exited()).code).toBe(0);
      expect((await cp.exited()).code).toBe(0);
    } finally {
      await engine.stop(200);
    }
  });

  it('refuses an invalid config file, naming the file and the field', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'nerve-')), 'bad.yaml');
    writeFileSync(file, 'engines:\n  - name: crypto\n    instances: [{ id: c1, address: "nowhere" }]\n');
    const cp = spawnNerve(['control-plane', '--config', file, '--api-port', '0', '--xds-port', '0']);
    expect((await cp.exited()).code).toBe(2);
    expect(cp.stderr()).toContain(
      `${file}: engines[0].instances[0].address: must be host:port with a port from 1 to 65535`,
    );
  });
});
