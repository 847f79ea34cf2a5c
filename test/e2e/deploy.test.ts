import { withTool } from '../helpers/requires';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { invoke, TestCluster } from '../helpers/cluster';
import { hasPromtool, metricNames } from '../helpers/promtool';
import { waitFor } from '../helpers/wait';

const DEPLOY = join(__dirname, '..', '..', 'deploy');

/** Metric names a PromQL expression reads (recording rules' own `a:b:c` names left out). */
function namesIn(expr: string): string[] {
  return [...expr.matchAll(/\b(nerve_[a-z0-9_]+)/g)].map((m) => m[1]);
}

/** The deployment files speak of what the processes export: every panel and rule, against a live scrape. */
describe('deploy: Prometheus and Grafana files', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start([{ name: 'calc', type: 'math', instances: 2 }]);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('uses only metric names a live scrape of a control plane and a router has', async () => {
    const client = cluster.engineClient();
    for (let i = 0; i < 20; i++) await invoke(client, 'calc', 'echo', 'x');
    // An error by code, so the code label's series exist as they would in production.
    await invoke(client, 'calc', 'nope').catch(() => undefined);
    const scrape = await waitFor(async () => {
      const cp = await (await fetch(`http://127.0.0.1:${cluster.api.port}/metrics`)).text();
      const router = await (await fetch(`http://127.0.0.1:${cluster.router.adminPort}/metrics`)).text();
      return /nerve_calls_total\{[^}]*code="INVALID_ARGUMENT"/.test(cp) ? `${cp}\n${router}` : undefined;
    }, 'the calls in the scrape');
    const live = metricNames(scrape);
    const dashboard = JSON.parse(
      readFileSync(join(DEPLOY, 'grafana', 'dashboards', 'nerve.json'), 'utf8'),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.panels.length).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const panel of dashboard.panels)
      for (const t of panel.targets)
        for (const name of namesIn(t.expr)) if (!live.has(name)) missing.push(`${panel.title}: ${name}`);
    const rules = readFileSync(join(DEPLOY, 'prometheus', 'nerve-rules.yml'), 'utf8');
    for (const name of namesIn(rules)) if (!live.has(name)) missing.push(`rules: ${name}`);
    expect(missing).toEqual([]);
  });

  withTool(hasPromtool(), 'promtool').it(
    'passes promtool on the scrape configuration, and promtool test rules on the alerting rules',
    () => {
      const out = execFileSync(
        'promtool',
        ['check', 'config', join(DEPLOY, 'prometheus', 'prometheus.yml')],
        {
          encoding: 'utf8',
        },
      );
      expect(out).toMatch(/SUCCESS/);
      // The alerting rules fire on the series Nerve exports (and only then).
      const unit = execFileSync(
        'promtool',
        ['test', 'rules', join(DEPLOY, 'prometheus', 'tests', 'nerve-rules.test.yml')],
        { encoding: 'utf8' },
      );
      expect(unit).toMatch(/SUCCESS/);
    },
  );
});
