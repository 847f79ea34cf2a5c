import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as net from 'node:net';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { spawnNerve, type Spawned } from '../helpers/process';

const SCRIPTS = join(__dirname, '..', '..', 'scripts');
const ZERO_PORTS = ['--api-port', '0', '--xds-port', '0', '--router-port', '0', '--router-admin-port', '0'];

/** Runs a script; resolves with its exit code and output (a failing script is an answer, not an error). */
function script(
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) =>
    execFile('bash', [join(SCRIPTS, name), ...args], { timeout: 60_000, env }, (err, stdout, stderr) =>
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }),
    ),
  );
}

describe('operations scripts against running processes', () => {
  const running: Spawned[] = [];
  let api: string;
  let routerAdmin: string;

  beforeAll(async () => {
    const demo = spawnNerve(['demo', ...ZERO_PORTS]);
    running.push(demo);
    await demo.waitForOutput(/ready in/);
    api = demo.stdout().match(/(http:\/\/127\.0\.0\.1:\d+\/api\/v1\/nerve)\/health/)![1];
    routerAdmin = demo.stdout().match(/router admin +(http:\/\/127\.0\.0\.1:\d+)/)![1];
  });

  afterAll(() => {
    for (const p of running) p.child.kill('SIGKILL');
  });

  it('health-check.sh passes against nerve demo, every endpoint listed', async () => {
    // The host base works as well as the full REST base (the form the original checklist shows).
    const host = await script('health-check.sh', [api.replace('/api/v1/nerve', '')]);
    expect(host.code).toBe(0);
    const usage = await script('health-check.sh', []);
    expect(usage.code).toBe(2);
    expect(usage.out).toMatch(/^usage: scripts\/health-check.sh API_URL/m);
    expect(usage.out).not.toMatch(/set -|pipefail/);
    const r = await script('health-check.sh', [api, '--router', routerAdmin]);
    expect(r.code).toBe(0);
    for (const name of [
      'control plane ready',
      'fleet health',
      'Prometheus metrics',
      'xDS port listening',
      'router metrics',
    ])
      expect(r.out).toMatch(new RegExp(`^ok +${name}`, 'm'));
    expect(r.out.trim().split('\n').pop()).toBe('healthy');
  });

  it('health-check.sh fails, naming the endpoint, when a part is down', async () => {
    const r = await script('health-check.sh', [api, '--router', 'http://127.0.0.1:1', '--timeout', '2']);
    expect(r.code).toBe(1);
    expect(r.out).toMatch(/^FAIL +router ready +http:\/\/127\.0\.0\.1:1\/ready \(no answer/m);
    expect(r.out).toMatch(/^ok +control plane ready/m);
    expect(r.out).toMatch(/unhealthy: router ready router metrics router config$/m);
    const noCp = await script('health-check.sh', ['http://127.0.0.1:1/api/v1/nerve', '--timeout', '2']);
    expect(noCp.code).toBe(1);
    expect(noCp.out).toMatch(/^FAIL +control plane alive/m);
  });

  it('backup.sh then restore.sh into an empty control plane gives an identical export', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nerve-backup-'));
    const file = join(dir, 'backup.json');
    const saved = await script('backup.sh', [api, file]);
    expect(saved.code).toBe(0);
    expect(saved.out).toMatch(/^saved .*backup\.json \(configuration version \d+\)/);

    const empty = spawnNerve(['control-plane', '--api-port', '0', '--xds-port', '0', '--host', '127.0.0.1']);
    running.push(empty);
    await empty.waitForOutput(/REST on http/);
    const target = empty.stdout().match(/REST on (http:\/\/127\.0\.0\.1:\d+\/api\/v1\/nerve)/)![1];
    const restored = await script('restore.sh', [target, file]);
    expect(restored.out).toMatch(/validated .*\nrestored /);
    expect(restored.code).toBe(0);

    // The version and time of an export differ; everything else must not.
    const strip = (doc: Record<string, unknown>) => {
      const rest = { ...doc };
      delete rest.version;
      delete rest.exportedAt;
      return rest;
    };
    const before = strip(JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>);
    const after = strip((await (await fetch(`${target}/config/export`)).json()) as Record<string, unknown>);
    expect(after).toEqual(before);

    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"engines":[{"name":"x","versions":[]}],"bogus":[]}');
    const refused = await script('restore.sh', [target, broken]);
    expect(refused.code).toBe(1);
    expect(refused.out).toMatch(/restore refused \(POST \/config\/import\?dryRun=true answered 400\)/);
    expect(refused.out).toMatch(/bogus.*unknown section/);
    // Nothing changed: the export is still the restored one.
    expect(strip((await (await fetch(`${target}/config/export`)).json()) as Record<string, unknown>)).toEqual(
      before,
    );
  });
});

describe('deploy.sh', () => {
  it('renders an overlay without touching a cluster', async () => {
    const { code, out } = await script('deploy.sh', ['staging', '--render']);
    expect(code).toBe(0);
    const objects = parseAllDocuments(out).map(
      (d) => d.toJSON() as { kind: string; metadata: { name: string } },
    );
    expect(objects.find((o) => o.kind === 'Namespace')?.metadata.name).toBe('nerve-staging');
    expect(objects.filter((o) => o.kind === 'Deployment')).toHaveLength(3);
  });

  it('refuses an unknown environment, listing the overlays', async () => {
    const { code, out } = await script('deploy.sh', ['qa']);
    expect(code).toBe(2);
    expect(out).toMatch(/no overlay "qa" \(have: dev production staging/);
  });

  it('refuses before any change when the cluster does not answer', async () => {
    // A cluster at a port nothing listens on: the pre-deployment check stops there, exit 2.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    const dir = mkdtempSync(join(tmpdir(), 'nerve-kube-'));
    const kubeconfig = join(dir, 'config');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: gone, cluster: {server: "https://127.0.0.1:' + port + '"}}]',
        'users: [{name: u, user: {token: t}}]',
        'contexts: [{name: gone, context: {cluster: gone, user: u}}]',
        'current-context: gone',
      ].join('\n'),
    );
    const { code, out } = await script('deploy.sh', ['production'], {
      ...process.env,
      KUBECONFIG: kubeconfig,
    });
    expect(code).toBe(2);
    expect(out).toMatch(/ok +overlay renders \(\d+ objects, namespace nerve\)/);
    expect(out).toMatch(/refused before any change: the cluster does not answer/);
    expect(out).not.toMatch(/== apply/);
  });
});
