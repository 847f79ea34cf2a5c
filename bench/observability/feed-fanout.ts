// npm run bench:feed — the live feed's fan-out: N WebSocket clients subscribed to `events` while the
// configuration changes every 100 ms; delivery latency (the message's time to its arrival at each client,
// one clock) and the control plane's CPU, beside one client in the same run (baseline).
import { WebSocket } from 'ws';
import { spawnNerve } from '../../test/helpers/process';
import { cpuSeconds, rssMb } from '../process-stats';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 1000);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 100);

const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

async function open(url: string, latencies: number[]): Promise<WebSocket> {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
  ws.on('message', (raw) => {
    const m = JSON.parse(String(raw)) as { topic?: string; at?: string };
    if (m.topic === 'events' && m.at) latencies.push(Date.now() - Date.parse(m.at));
  });
  ws.send(JSON.stringify({ op: 'subscribe', topics: ['events'] }));
  return ws;
}

async function round(api: string, ws: string, pid: number, clients: number) {
  const latencies: number[] = [];
  const sockets: WebSocket[] = [];
  for (let i = 0; i < clients; i += 50)
    sockets.push(
      ...(await Promise.all(Array.from({ length: Math.min(50, clients - i) }, () => open(ws, latencies)))),
    );
  await new Promise((r) => setTimeout(r, 500));
  const rss = rssMb(pid);
  const cpu0 = cpuSeconds(pid);
  const started = Date.now();
  for (let i = 0; i < CHANGES; i++) {
    const res = await fetch(`${api}/engines/bench/instances/bench-1/${i % 2 === 0 ? 'drain' : 'undrain'}`, {
      method: 'POST',
    });
    if (!res.ok) throw new Error(`change ${i}: ${res.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const expected = CHANGES * 2 * clients; // a config_changed and an engine_updated per change
  const deadline = Date.now() + 30_000;
  while (latencies.length < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const cpu = cpuSeconds(pid) - cpu0;
  const seconds = (Date.now() - started) / 1000;
  for (const s of sockets) s.terminate();
  return {
    clients,
    delivered: latencies.length,
    expected,
    p50: quantile(latencies, 0.5),
    p99: quantile(latencies, 0.99),
    cpuShare: cpu / seconds,
    rss,
  };
}

async function main(): Promise<void> {
  const cp = spawnNerve(['control-plane', '--host', '127.0.0.1', '--api-port', '0', '--xds-port', '0'], {
    LOG_LEVEL: 'error',
  });
  try {
    const [, api] = await cp.waitForOutput(/REST on (http:\/\/\S+)/, 30_000);
    const ws = `${api.replace('http', 'ws')}/ws`;
    const res = await fetch(`${api}/engines`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'bench',
        instances: [{ id: 'bench-1', address: '127.0.0.1:1' }],
        policy: { healthCheck: { intervalMs: 3_600_000 } },
      }),
    });
    if (!res.ok) throw new Error(`create: ${res.status} ${await res.text()}`);
    console.log(
      `bench:feed: ${CHANGES} configuration changes 100 ms apart (2 events each) to WebSocket clients of one control plane`,
    );
    const rows = [await round(api, ws, cp.child.pid!, 1), await round(api, ws, cp.child.pid!, CLIENTS)];
    for (const r of rows)
      console.log(
        `  ${String(r.clients).padStart(5)} client(s): delivered ${r.delivered}/${r.expected}, latency p50 ${r.p50} ms p99 ${r.p99} ms, control-plane CPU ${(r.cpuShare * 100).toFixed(1)} % of a core, RSS ${r.rss.toFixed(0)} MB`,
      );
    const [one, many] = rows;
    console.log(
      `  ${CLIENTS} against 1: p99 ×${(many.p99 / Math.max(one.p99, 1)).toFixed(1)}, CPU ×${(many.cpuShare / Math.max(one.cpuShare, 1e-3)).toFixed(1)}`,
    );
  } finally {
    cp.child.kill('SIGTERM');
    await cp.exited();
  }
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
