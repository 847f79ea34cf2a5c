import { withTool } from '../helpers/requires';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { TestCluster } from '../helpers/cluster';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const OUT = join(__dirname, '..', '..', 'test-output', 'dashboard');

// Needs Debian's chromium (CI installs it); without it the dashboard is still served and built.
const describeBrowser = withTool(existsSync(CHROMIUM), 'Chromium').describe;

/** The dashboard in a real headless Chromium: listed engines, live health without a reload, phone size. */
describeBrowser('dashboard in Chromium', () => {
  let cluster: TestCluster;
  let browser: Browser;

  beforeAll(async () => {
    mkdirSync(OUT, { recursive: true });
    cluster = await TestCluster.start(
      [
        { name: 'math', type: 'math', instances: 2 },
        { name: 'crypto', type: 'crypto', instances: 2 },
        { name: 'echo', type: 'echo', instances: 1 },
      ],
      100,
      { controlPlane: { feedPeriods: { metricsMs: 1_000, healthMs: 2_000 } } },
    );
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await cluster?.stop();
  });

  it('lists the engines, and shows a killed instance unhealthy within 3 s without a reload', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    // A script, style or connection the policy refused shows as a console error.
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/.test(m.text())) errors.push(m.text());
    });
    const started = Date.now();
    const response = await page.goto(`http://127.0.0.1:${cluster.api.port}/`);
    expect(response?.headers()['content-security-policy']).toMatch(
      /default-src 'self'.*frame-ancestors 'none'/,
    );
    expect(response?.headers()['x-frame-options']).toBe('DENY');
    for (const name of ['math', 'crypto', 'echo'])
      await page.waitForSelector(`[data-engine="${name}"]`, { timeout: 10_000 });
    // Selectors, not evaluated strings: the page's Content-Security-Policy forbids eval.
    await page.waitForSelector('.live:has-text("live")', { timeout: 10_000 });
    const firstPaintMs = Date.now() - started;
    expect(await page.textContent('[data-testid="instance-health-math-1"]')).toBe('healthy');
    await page.screenshot({ path: join(OUT, 'fleet.png'), fullPage: true });

    const url = page.url();
    const killedAt = Date.now();
    cluster.engines.get('math-1')!.kill();
    await page.waitForSelector('[data-testid="instance-health-math-1"]:text-is("unhealthy")', {
      timeout: 3_000,
    });
    const shownAfterMs = Date.now() - killedAt;
    expect(page.url()).toBe(url);
    expect(await page.textContent('[data-engine="math"] .why')).toMatch(/health probe failing/);
    await page.screenshot({ path: join(OUT, 'instance-down.png'), fullPage: true });
    console.log(
      `dashboard: first paint with live feed ${firstPaintMs} ms; killed instance shown after ${shownAfterMs} ms`,
    );

    await page.click('[data-instance="math-2"]');
    await page.waitForSelector('[data-testid="instance-detail"]');
    expect(await page.textContent('[data-testid="instance-detail"] h2')).toContain('math / math-2');
    await page.screenshot({ path: join(OUT, 'instance-detail.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('shows a firing alert and acknowledges it from the page', async () => {
    const res = await fetch(`${cluster.apiBase}/alert-rules`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        id: 'echo-down',
        name: 'echo down',
        severity: 'error',
        event: 'instance_down',
        engine: 'echo',
        groupWaitMs: 0,
      }),
    });
    expect(res.status).toBe(201);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`http://127.0.0.1:${cluster.api.port}/`);
    await page.waitForSelector('[data-engine="echo"]');
    cluster.engines.get('echo-1')!.setServing(false);
    const row = '[data-alert="echo-down:echo:echo-1"]';
    await page.waitForSelector(row, { timeout: 5_000 });
    expect(await page.textContent(`${row} .why`)).toMatch(/echo\/echo-1 is down/);
    await page.click(`${row} button:has-text("Acknowledge")`);
    await page.waitForSelector(`${row} [data-testid="acknowledged"]`, { timeout: 5_000 });
    await page.screenshot({ path: join(OUT, 'alert-acknowledged.png'), fullPage: true });
    const alerts = (await (await fetch(`${cluster.apiBase}/alerts?state=acknowledged`)).json()) as {
      alerts: { id: string; acknowledgedBy: string }[];
    };
    expect(alerts.alerts.map((a) => a.id)).toEqual(['echo-down:echo:echo-1']);
    cluster.engines.get('echo-1')!.setServing(true);
    await page.waitForSelector(row, { state: 'detached', timeout: 5_000 });
    await page.close();
  });

  it('shows a rollout held by its confirm-rollout gate, with what the gate answered, live', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(`http://127.0.0.1:${cluster.api.port}/`);
    await page.waitForSelector('[data-testid="rollouts"]');
    const post = (path: string, body: unknown) =>
      fetch(`${cluster.apiBase}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const e = cluster.engines.get('crypto-1')!;
    expect(
      (await post('/engines/crypto/instances', { id: 'crypto-v2', address: e.address, version: 'v2' }))
        .status,
    ).toBe(201);
    const res = await post('/engines/crypto/rollouts', {
      version: 'v2',
      intervalMs: 60_000,
      // Nothing listens on port 1: the gate cannot say yes, so the rollout waits at weight 0.
      webhooks: [{ name: 'ci', type: 'confirm-rollout', url: 'http://127.0.0.1:1/gate', retries: 0 }],
    });
    expect(res.status).toBe(201);
    const { rollout } = (await res.json()) as { rollout: { id: string } };
    const row = `[data-rollout="${rollout.id}"]`;
    await page.waitForSelector(`${row} .why:has-text("confirm-rollout gate ci answered")`, {
      timeout: 5_000,
    });
    expect(await page.textContent(`${row} .why`)).toMatch(
      /^gate: confirm-rollout gate ci answered .+: held$/,
    );
    expect(await page.textContent(`${row} .badge`)).toBe('progressing');
    await page.screenshot({ path: join(OUT, 'rollout-held.png'), fullPage: true });
    await post(`/engines/crypto/rollouts/${rollout.id}/abort`, {});
    await page.waitForSelector(`${row} .badge:text-is("aborted")`, { timeout: 5_000 });

    // A mirroring A/B rollout: its routing, and each check's evidence (both sides and their load).
    const ab = await post('/engines/crypto/rollouts', {
      version: 'v2',
      steps: [0],
      intervalMs: 300,
      match: [{ headers: { 'x-user-group': { exact: 'beta' } } }],
      mirror: { percent: 50 },
    });
    expect(ab.status).toBe(201);
    const abId = ((await ab.json()) as { rollout: { id: string } }).rollout.id;
    const abRow = `[data-rollout="${abId}"]`;
    await page.waitForSelector(`${abRow} .evidence:has-text("canary 0 calls")`, { timeout: 5_000 });
    expect(await page.textContent(`${abRow} .routing`)).toBe('1 match rule, mirror 50 %');
    expect(await page.textContent(`${abRow} .evidence`)).toMatch(
      /^canary 0 calls, 0 % errors, p99 0 ms · stable \d+ calls, [\d.]+ % errors, p99 \d+ ms/,
    );
    await post(`/engines/crypto/rollouts/${abId}/abort`, {});
    await page.waitForSelector(`${abRow} .badge:text-is("aborted")`, { timeout: 5_000 });
    await page.close();
  });

  it('is readable on a phone', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    await page.goto(`http://127.0.0.1:${cluster.api.port}/`);
    await page.waitForSelector('[data-engine="math"]');
    // Nothing wider than the screen but the tables, which scroll in their own box.
    // Page code runs in the browser: given as text, since this file is compiled without DOM types.
    const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    expect(overflow).toBeLessThanOrEqual(0);
    await page.screenshot({ path: join(OUT, 'phone.png'), fullPage: true });
    await page.close();
  });

  it('renders the API reference page under its Content-Security-Policy (its inline script allowed by hash)', async () => {
    const page = await browser.newPage();
    const refused: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content Security Policy/.test(m.text())) refused.push(m.text());
    });
    await page.goto(`http://127.0.0.1:${cluster.api.port}/api/v1/nerve/docs`);
    await page.waitForSelector('details summary code', { timeout: 10_000 });
    expect(refused).toEqual([]);
    await page.close();
  });

  it('shows the recent events again after a reload (the feed replays the fleet log to a new page)', async () => {
    cluster.cp.feed.publish('events', {
      kind: 'config_changed',
      version: 999,
      actor: 'tester',
      summary: 'made before the reload',
    });
    const page = await browser.newPage();
    const logged = '[data-testid="events"] li:has-text("made before the reload")';
    await page.goto(`http://127.0.0.1:${cluster.api.port}/`);
    await page.waitForSelector(logged, { timeout: 10_000 });
    await page.reload();
    await page.waitForSelector(logged, { timeout: 10_000 });
    await page.close();
  });
});
