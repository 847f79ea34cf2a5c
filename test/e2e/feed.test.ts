import { WebSocket } from 'ws';
import { SYSTEM } from '../../src/control-plane/commands/admin-context';
import { TestCluster } from '../helpers/cluster';
import { waitFor } from '../helpers/wait';

interface Message {
  topic?: string;
  op?: string;
  id?: number;
  at?: string;
  message?: string;
  data?: Record<string, unknown>;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A WebSocket client of the feed that keeps everything it hears. */
class Listener {
  readonly messages: Message[] = [];
  closed: { code: number; reason: string } | undefined;
  constructor(readonly ws: WebSocket) {
    ws.on('message', (raw) => this.messages.push(JSON.parse(String(raw)) as Message));
    ws.on('close', (code, reason) => (this.closed = { code, reason: String(reason) }));
  }
  static async open(url: string): Promise<Listener> {
    const ws = new WebSocket(url);
    const l = new Listener(ws);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    return l;
  }
  send(m: object): void {
    this.ws.send(JSON.stringify(m));
  }
  of(topic: string): Message[] {
    return this.messages.filter((m) => m.topic === topic);
  }
}

/**
 * The live feed over real WebSockets and SSE: topics at their periods, filters by engine and
 * namespace, resume and resync, and a client that stops reading coalesced and then closed while the
 * others go on.
 */
describe('live feed', () => {
  let cluster: TestCluster;
  let url: string;
  const opened: Listener[] = [];
  const open = async () => {
    const l = await Listener.open(url);
    opened.push(l);
    return l;
  };

  beforeAll(async () => {
    cluster = await TestCluster.start(
      [
        { name: 'calc', type: 'math', instances: 2 },
        { name: 'other', type: 'echo', instances: 1 },
      ],
      100,
      {
        controlPlane: { feedPeriods: { metricsMs: 300, healthMs: 600 } },
        feed: {
          limits: { coalesceAboveBytes: 64 * 1024, closeAboveBytes: 256 * 1024, closeAfterMs: 1_000 },
          tickMs: 50,
          // Long enough that the stuck client below is closed as slow before it could miss a ping.
          heartbeatMs: 3_000,
        },
      },
    );
    url = `ws://127.0.0.1:${cluster.api.port}/api/v1/nerve/ws`;
  });
  afterAll(async () => {
    for (const l of opened) l.ws.terminate();
    await cluster?.stop();
  });

  it('sends each topic at its period, health on every change, and config events', async () => {
    const l = await open();
    l.send({ op: 'subscribe', topics: ['metrics', 'health', 'events'] });
    l.send({ op: 'ping' });
    await waitFor(() => l.messages.some((m) => m.op === 'pong'), 'pong');
    await waitFor(
      () => l.of('metrics').filter((m) => m.data?.scope === 'fleet').length >= 6,
      'six fleet metrics',
    );
    const fleet = l.of('metrics').filter((m) => m.data?.scope === 'fleet');
    const gaps = fleet.slice(1).map((m, i) => Date.parse(m.at!) - Date.parse(fleet[i].at!));
    // The median gap: one timer a starved machine fires late moves two gaps, not the period.
    expect(Math.abs(median(gaps) - 300)).toBeLessThan(100);
    await waitFor(
      () => l.of('health').filter((m) => m.data?.scope === 'fleet').length >= 4,
      'four health rounds',
    );
    const rounds = l.of('health').filter((m) => m.data?.scope === 'fleet');
    const roundGaps = rounds.slice(1).map((m, i) => Date.parse(m.at!) - Date.parse(rounds[i].at!));
    expect(Math.abs(median(roundGaps) - 600)).toBeLessThan(150);
    // Heartbeats carry the newest id, so a quiet client knows where it stands.
    const beat = await waitFor(() => l.messages.find((m) => m.op === 'heartbeat'), 'a heartbeat');
    expect((beat as { lastId?: number }).lastId).toBeGreaterThan(0);
    const ids = l.messages.filter((m) => m.id).map((m) => m.id!);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // A change is pushed at once, not at the next period.
    cluster.engines.get('calc-1')!.setServing(false);
    const change = await waitFor(
      () => l.of('health').find((m) => m.data?.change && m.data.instance === 'calc-1'),
      'the health change',
    );
    expect(change.data).toMatchObject({ engine: 'calc', to: 'unhealthy' });
    cluster.engines.get('calc-1')!.setServing(true);
    await cluster.cp.admin.drainInstance('other', 'other-1');
    const event = await waitFor(
      () => l.of('events').find((m) => m.data?.kind === 'config_changed'),
      'config event',
    );
    expect(event.data!.summary).toBe('drain other/other-1');
    await cluster.cp.admin.undrainInstance('other', 'other-1');
  });

  it('filters by engine and by namespace', async () => {
    await cluster.cp.admin.specs.patch('other', { namespace: 'team-b' }, undefined, SYSTEM);
    const byEngine = await open();
    byEngine.send({ op: 'subscribe', topics: ['metrics'], engines: ['calc'] });
    const byNamespace = await open();
    byNamespace.send({ op: 'subscribe', topics: ['metrics', 'health'], namespaces: ['team-b'] });
    await waitFor(
      () => byEngine.of('metrics').length >= 3 && byNamespace.of('metrics').length >= 3,
      'metrics',
    );
    expect(new Set(byEngine.of('metrics').map((m) => m.data!.name))).toEqual(new Set(['calc']));
    // Nothing of another namespace, and nothing fleet-wide (it spans namespaces).
    expect(new Set(byNamespace.of('metrics').map((m) => m.data!.name))).toEqual(new Set(['other']));
    byNamespace.send({ op: 'unsubscribe', topics: ['metrics'] });
    byNamespace.send({ op: 'subscribe', topics: ['bogus'] });
    const error = await waitFor(() => byNamespace.messages.find((m) => m.op === 'error'), 'an error');
    expect(error.message).toMatch(/unknown topic "bogus"; known: metrics, health/);
  });

  it('resumes from an id, and asks for a resync when the ring no longer holds it', async () => {
    const first = await open();
    first.send({ op: 'subscribe', topics: ['metrics'] });
    await waitFor(() => first.of('metrics').length >= 3, 'metrics');
    const lastSeen = first.of('metrics')[1].id!;
    first.ws.close();
    const resumed = await open();
    resumed.send({ op: 'subscribe', topics: ['metrics'], since: lastSeen });
    await waitFor(() => resumed.of('metrics').length >= 3, 'replayed metrics');
    const ids = resumed.of('metrics').map((m) => m.id!);
    expect(ids[0]).toBe(first.of('metrics')[2].id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    // Past the ring: a resync, then live messages.
    for (let i = 0; i < 10_001; i++) cluster.cp.feed.publish('rollouts', { i });
    const late = await open();
    late.send({ op: 'subscribe', topics: ['metrics'], since: lastSeen });
    await waitFor(() => late.messages.find((m) => m.op === 'resync'), 'resync');
    // SSE: the same events, resumed with Last-Event-ID. The ids are the two rollouts events' own: a
    // metrics tick may take the next id at any moment, and a rollouts stream never carries it.
    const before = cluster.cp.feed.publish('rollouts', { marker: 'before' }).id;
    const from = cluster.cp.feed.publish('rollouts', { marker: 'from' }).id;
    const res = await fetch(`${cluster.apiBase}/events?topics=rollouts`, {
      headers: { 'last-event-id': String(before - 1) },
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    try {
      let text = '';
      while (!text.includes(`id: ${from}\n`)) {
        const chunk = await reader.read();
        if (chunk.done) throw new Error(`the event stream ended before id ${from}: ${text}`);
        text += new TextDecoder().decode(chunk.value);
      }
      expect(text).toContain(`id: ${before}\nevent: rollouts\ndata: {"topic":"rollouts","id":${before}`);
    } finally {
      // A stream left open would become a client that stopped reading in the test below.
      await reader.cancel();
    }
  }, 60_000);

  it('gives a page that just loaded the last events of the fleet log (recent), newest last', async () => {
    for (let i = 0; i < 3; i++) cluster.cp.feed.publish('events', { kind: 'test_event', i, engine: 'math' });
    const page = await open();
    page.send({ op: 'subscribe', topics: ['events', 'metrics'], recent: 2 });
    await waitFor(() => page.of('events').length >= 2, 'the last two events');
    expect(page.of('events').map((m) => (m.data as { i?: number }).i)).toEqual([1, 2]);
    page.send({ op: 'subscribe', topics: ['events'], recent: -1 });
    await waitFor(() => page.messages.find((m) => m.op === 'error'), 'a refusal of a bad recent');
  });

  it('coalesces a client that stopped reading, then closes it, while another keeps receiving', async () => {
    const stuck = await open();
    const healthy = await open();
    stuck.send({ op: 'subscribe', topics: ['rollouts'] });
    healthy.send({ op: 'subscribe', topics: ['rollouts'] });
    await waitFor(() => stuck.messages.some((m) => m.op === 'heartbeat') || true, 'subscribed');
    await new Promise((r) => setImmediate(r));
    // The stuck client's socket stops reading: the kernel's buffers fill, then the server's.
    (stuck.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = 'x'.repeat(16 * 1024);
    const before = healthy.of('rollouts').length;
    let published = 0;
    const closedCount = async () =>
      Number(
        /nerve_feed_slow_closed_total(?:\{[^}]*\})? (\d+)/.exec(
          await (await fetch(`http://127.0.0.1:${cluster.api.port}/metrics`)).text(),
        )?.[1] ?? 0,
      );
    const closedBefore = await closedCount();
    const slowClosed = async () => (await closedCount()) > closedBefore;
    const at = Date.now();
    for (let round = 0; Date.now() - at < 20_000; round++) {
      // 40 engines' worth of messages, 16 KiB each: coalesced to the newest per engine.
      for (let i = 0; i < 40; i++)
        cluster.cp.feed.publish('rollouts', { big, n: published++ }, { engine: `e${i}` });
      await new Promise((r) => setTimeout(r, 20));
      if (round % 10 === 9 && (await slowClosed())) break;
    }
    expect(await slowClosed()).toBe(true);
    // Reading again, the stuck client finds its connection closed.
    (stuck.ws as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitFor(() => stuck.closed, 'the stuck client closed');
    // The reading client may be coalesced in bursts too, but it gets the newest and stays connected.
    await waitFor(
      () => healthy.of('rollouts').some((m) => m.data?.n === published - 1),
      'the reading client to get the newest message',
    );
    expect(healthy.of('rollouts').length - before).toBeGreaterThan(40);
    expect(healthy.closed).toBeUndefined();
    const page = await (await fetch(`http://127.0.0.1:${cluster.api.port}/metrics`)).text();
    expect(page).toMatch(/nerve_feed_coalesced_total\{[^}]*\} [1-9]/);
  });
});
