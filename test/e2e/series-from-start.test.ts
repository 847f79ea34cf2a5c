import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TestCluster } from '../helpers/cluster';

const DEPLOY = join(__dirname, '..', '..', 'deploy');

/** Every nerve_ series a file names (histograms by their base name). */
function seriesIn(file: string): Set<string> {
  const text = readFileSync(join(DEPLOY, file), 'utf8');
  return new Set(
    [...text.matchAll(/nerve_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, '')),
  );
}

describe('every series the dashboards and alert rules read exists on a fleet that has served no call', () => {
  let cluster: TestCluster;
  beforeAll(async () => {
    cluster = await TestCluster.start([{ name: 'math', type: 'math', instances: 2 }]);
  });
  afterAll(async () => cluster?.stop());

  it('finds each one on a scrape of the control plane or the router, before any call', async () => {
    const pages = await Promise.all([
      fetch(`http://127.0.0.1:${cluster.api.port}/metrics`).then((r) => r.text()),
      fetch(`http://127.0.0.1:${cluster.router.adminPort}/metrics`).then((r) => r.text()),
    ]);
    const present = new Set(
      pages.flatMap((p) =>
        [...p.matchAll(/^(nerve_[a-z0-9_]+)[{ ]/gm)].map((m) => m[1].replace(/_(bucket|sum|count)$/, '')),
      ),
    );
    const wanted = new Set([
      ...seriesIn('grafana/dashboards/nerve.json'),
      ...seriesIn('prometheus/nerve-rules.yml'),
    ]);
    expect(wanted.size).toBeGreaterThan(10);
    expect([...wanted].filter((s) => !present.has(s))).toEqual([]);
    // At 0 for the configured instances, not only as a family.
    expect(pages[0]).toMatch(/^nerve_calls_total\{[^}]*engine="math"[^}]*code="OK"[^}]*\} 0$/m);
    expect(pages[0]).toMatch(/^nerve_calls_in_flight\{[^}]*engine="math"[^}]*\} 0$/m);
    expect(pages[0]).toMatch(/^nerve_xds_nacks_total\{[^}]*type="EngineCluster"[^}]*\} 0$/m);
  });
});
