// npm run bench:dashboard — the dashboard in headless Chromium: first paint (navigation to every engine
// listed with the feed live) and update latency after a health change (an instance failing its probe
// until the page shows it unhealthy), beside the REST API's own latency for the same change (baseline:
// polled /health/:engine). Five rounds; medians.
import { chromium } from 'playwright-core';
import { TestCluster } from '../../test/helpers/cluster';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function main(): Promise<void> {
  const cluster = await TestCluster.start(
    [
      { name: 'math', type: 'math', instances: 3 },
      { name: 'crypto', type: 'crypto', instances: 3 },
      { name: 'echo', type: 'echo', instances: 2 },
    ],
    100,
  );
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
    ],
  });
  const paint: number[] = [];
  const page: number[] = [];
  const api: number[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      const t0 = performance.now();
      await tab.goto(`http://127.0.0.1:${cluster.api.port}/`);
      for (const name of ['math', 'crypto', 'echo']) await tab.waitForSelector(`[data-engine="${name}"]`);
      await tab.waitForFunction("document.querySelector('.live')?.textContent?.includes('live')");
      paint.push(performance.now() - t0);

      const engine = cluster.engines.get('math-2')!;
      const changed = performance.now();
      engine.setServing(false);
      const apiSeen = (async () => {
        for (;;) {
          const h = (await (await fetch(`${cluster.apiBase}/health/math`)).json()) as {
            instances: { id: string; health: string }[];
          };
          if (h.instances.find((i) => i.id === 'math-2')?.health === 'unhealthy')
            return performance.now() - changed;
          await new Promise((res) => setTimeout(res, 5));
        }
      })();
      await tab.waitForFunction(
        `document.querySelector('[data-testid="instance-health-math-2"]')?.textContent === 'unhealthy'`,
        undefined,
        { polling: 10 },
      );
      page.push(performance.now() - changed);
      api.push(await apiSeen);
      engine.setServing(true);
      await tab.waitForFunction(
        `document.querySelector('[data-testid="instance-health-math-2"]')?.textContent === 'healthy'`,
      );
      await tab.close();
    }
    console.log(`bench:dashboard: ${ROUNDS} rounds, 3 engines / 8 instances, health probes every 100 ms`);
    console.log(
      `  first paint (every engine listed, feed live): median ${median(paint).toFixed(0)} ms (rounds: ${paint.map((x) => x.toFixed(0)).join(', ')})`,
    );
    console.log(
      `  health change → page: median ${median(page).toFixed(0)} ms; → REST API (baseline): median ${median(api).toFixed(0)} ms; ×${(median(page) / median(api)).toFixed(2)}`,
    );
  } finally {
    await browser.close();
    await cluster.stop();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
