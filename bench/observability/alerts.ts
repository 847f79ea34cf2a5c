// npm run bench:alerts — alerting's figures, with real instances and a real webhook receiver on loopback:
// an instance's death to the webhook (goal ≤ probe interval × unhealthy threshold + 1 s), its recovery to
// the resolved notification (goal ≤ 1 s), and notifications for 50 instances failing at once (goal 1);
// then the noise cases of alert-noise.ts (flapping, a cascade).
// Baseline in the same run: when the control plane's own health view saw each change (GET /health).
import { TestCluster } from '../../test/helpers/cluster';
import { startReceiver } from '../../test/helpers/webhook-receiver';
import { cascade, flapping } from './alert-noise';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const INTERVAL_MS = 1_000;
const THRESHOLD = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

async function until<T>(fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function main(): Promise<void> {
  const cluster = await TestCluster.start(
    [
      {
        name: 'one',
        type: 'echo',
        instances: 1,
        policy: {
          healthCheck: { intervalMs: INTERVAL_MS, unhealthyThreshold: THRESHOLD, healthyThreshold: 1 },
        },
      },
      {
        name: 'fleet',
        type: 'echo',
        instances: 50,
        policy: {
          healthCheck: { intervalMs: INTERVAL_MS, unhealthyThreshold: THRESHOLD, healthyThreshold: 1 },
        },
      },
    ],
    INTERVAL_MS,
  );
  const receiver = await startReceiver();
  const post = (path: string, body: unknown) =>
    fetch(`${cluster.apiBase}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  await post('/notification-channels', { name: 'hook', type: 'webhook', url: receiver.url });
  await post('/alert-rules', {
    id: 'down',
    name: 'instance down',
    severity: 'critical',
    event: 'instance_down',
    groupWaitMs: 500,
    channels: ['hook'],
  });
  const health = async (engine: string, id: string) =>
    (
      (await (await fetch(`${cluster.apiBase}/health/${engine}`)).json()) as {
        instances: { id: string; health: string }[];
      }
    ).instances.find((i) => i.id === id)!.health;
  const toWebhook: number[] = [];
  const toHealth: number[] = [];
  const resolveWebhook: number[] = [];
  const resolveHealth: number[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      receiver.received.length = 0;
      const engine = cluster.engines.get('one-1')!;
      const died = Date.now();
      engine.setServing(false);
      const seen = until(async () =>
        (await health('one', 'one-1')) === 'unhealthy' ? Date.now() : undefined,
      );
      const got = await until(() => receiver.received.find((x) => x.body.status === 'firing'));
      toWebhook.push(got.at - died);
      toHealth.push((await seen) - died);
      const back = Date.now();
      engine.setServing(true);
      const healthy = until(async () =>
        (await health('one', 'one-1')) === 'healthy' ? Date.now() : undefined,
      );
      const healthyAt = await healthy;
      const resolved = await until(() => receiver.received.find((x) => x.body.status === 'resolved'));
      resolveHealth.push(healthyAt - back);
      resolveWebhook.push(resolved.at - healthyAt);
    }
    // Fifty at once.
    receiver.received.length = 0;
    const fleet = [...cluster.engines.entries()].filter(([id]) => id.startsWith('fleet-')).map(([, e]) => e);
    for (const e of fleet) e.setServing(false);
    await until(
      () =>
        receiver.received.find((x) => x.body.status === 'firing' && x.body.alerts.length === 50) ??
        (receiver.received.reduce((n, x) => n + x.body.alerts.length, 0) >= 50
          ? receiver.received[0]
          : undefined),
    );
    const firings = receiver.received.filter((x) => x.body.status === 'firing');
    for (const e of fleet) e.setServing(true);
    await until(() => receiver.received.find((x) => x.body.status === 'resolved'));
    const resolves = receiver.received.filter((x) => x.body.status === 'resolved');
    console.log(
      `bench:alerts: probes every ${INTERVAL_MS} ms, unhealthy after ${THRESHOLD}; group wait 500 ms; ${ROUNDS} rounds, medians`,
    );
    console.log(
      `  death → webhook: ${median(toWebhook)} ms (rounds ${toWebhook.join(', ')}); goal ≤ ${INTERVAL_MS * THRESHOLD + 1_000} ms`,
    );
    console.log(
      `    baseline, death → /health unhealthy: ${median(toHealth)} ms (×${(median(toWebhook) / median(toHealth)).toFixed(2)})`,
    );
    console.log(
      `  recovery seen healthy → resolved notification: ${median(resolveWebhook)} ms (rounds ${resolveWebhook.join(', ')}); goal ≤ 1000 ms`,
    );
    console.log(`    (recovery → /health healthy: ${median(resolveHealth)} ms)`);
    console.log(
      `  50 instances failing at once: ${firings.length} firing notification(s) carrying ${firings.map((f) => f.body.alerts.length).join(' + ')} alerts; ${resolves.length} resolve(s); goal 1`,
    );
  } finally {
    await receiver.close();
    await cluster.stop();
  }
}

void main()
  .then(() => {
    // Noise: flapping and a cascade, on the model's rules over a simulated clock (bench:alert-noise).
    flapping();
    cascade();
  })
  .catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
