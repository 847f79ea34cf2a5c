import * as grpc from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { WebSocket } from 'ws';
import { CircuitState } from '../../gen/nerve/discovery/v1/resources';
import type { StreamReportsRequest, StreamReportsResponse } from '../../gen/nerve/report/v1/report';
import { ReportServiceClient } from '../../gen/nerve/report/v1/report_service';
import { startApi } from '../../src/api/server';
import type { ControlPlane } from '../../src/control-plane/control-plane';
import { engineSpec, logger, startControlPlane, startRouter } from '../helpers/cluster';
import { instanceLoad } from '../helpers/loads';
import { waitFor } from '../helpers/wait';

const SECRET = 'an HS256 secret of the data-plane trust tests, 32+ bytes';
const BOOT_KEY = 'boot-secret-of-at-least-24-characters';
const OPEN = CircuitState.CIRCUIT_STATE_OPEN;
const CLOSED = CircuitState.CIRCUIT_STATE_CLOSED;

type ReportStream = grpc.ClientDuplexStream<StreamReportsRequest, StreamReportsResponse>;

/** A report as router `nodeId` would send it: instance i1 of calc with `circuit`, after `requests` calls. */
function report(nodeId: string, circuit: CircuitState, requests = 10, instanceId = 'i1', engine = 'calc') {
  return {
    nodeId,
    intervalMs: 200,
    engineCalls: [],
    heldCalls: {},
    loads: [instanceLoad(engine, instanceId, [], { requests, circuit, circuitSinceMs: Date.now() })],
    engineCircuits: {},
    tracedCalls: [],
    tracedDropped: 0,
  } as StreamReportsRequest;
}

/** How a stream ended: its status code and details, or 'open' while it runs. */
function outcome(stream: ReportStream): { status?: grpc.StatusObject } {
  const seen: { status?: grpc.StatusObject } = {};
  stream.on('status', (s: grpc.StatusObject) => (seen.status = s));
  stream.on('error', () => undefined);
  stream.on('data', () => undefined);
  return seen;
}

describe('data-plane trust: only data planes report, each as itself, and only about what it serves', () => {
  let cp: ControlPlane;
  let api: Awaited<ReturnType<typeof startApi>>;
  let base: string;
  let client: ReportServiceClient;
  const keys: Record<string, string> = {};

  const md = (key: string) => {
    const m = new grpc.Metadata();
    m.set('authorization', `Bearer ${key}`);
    return m;
  };
  const open = (credential: string) => client.streamReports(md(credential));
  const rest = (method: string, path: string, body?: unknown) =>
    fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', 'x-api-key': BOOT_KEY },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const circuits = async () =>
    (await (await rest('GET', '/circuit-breakers/calc')).json()) as {
      instances: {
        id: string;
        state: string;
        reporters: number;
        openOn: number;
        routers: Record<string, string>;
      }[];
    };

  beforeAll(async () => {
    cp = await startControlPlane(
      [
        engineSpec({
          name: 'calc',
          versions: [{ name: 'v1', weight: 100 }],
          instances: [
            { id: 'i1', address: '127.0.0.1:1' },
            { id: 'i2', address: '127.0.0.1:2' },
          ],
        }),
      ],
      {
        healthChecks: false,
        auth: {
          enabled: true,
          jwt: { secret: SECRET },
          apiKeys: [{ name: 'boot', role: 'admin', secret: BOOT_KEY }],
        },
      },
    );
    api = await startApi(cp, logger, '127.0.0.1', 0);
    base = `http://127.0.0.1:${api.port}/api/v1/nerve`;
    for (const [name, role] of [
      ['reader', 'viewer'],
      ['router-a', 'dataplane'],
      ['router-b', 'dataplane'],
      ['router-c', 'dataplane'],
      ['router-r', 'dataplane'],
      ['router-d', 'dataplane'],
      ['router-e', 'dataplane'],
    ]) {
      const res = await rest('POST', '/api-keys', { name, role });
      expect(res.status).toBe(201);
      keys[name] = ((await res.json()) as { key: string }).key;
    }
    client = new ReportServiceClient(`127.0.0.1:${cp.port}`, grpc.credentials.createInsecure());
  });

  afterAll(async () => {
    client.close();
    await api.close();
    await cp.stop(500);
  });

  it('refuses report streams to a viewer key, a viewer JWT and an admin, before any answer', async () => {
    const viewerJwt = await new SignJWT({ roles: ['viewer'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('router-a')
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(SECRET));
    for (const credential of [keys.reader, viewerJwt, BOOT_KEY]) {
      const stream = open(credential);
      const answers: unknown[] = [];
      stream.on('data', (d) => answers.push(d));
      const seen = outcome(stream);
      stream.write(report('reader', OPEN));
      await waitFor(() => seen.status, 'the stream refused');
      expect(seen.status!.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(seen.status!.details).toMatch(/needs role dataplane/);
      expect(answers).toEqual([]);
    }
    expect((await circuits()).instances.every((c) => c.reporters === 0)).toBe(true);
  });

  it('ends a stream whose later message names another node, and counts only its own', async () => {
    const stream = open(keys['router-a']);
    const seen = outcome(stream);
    stream.write(report('router-a', OPEN));
    await waitFor(
      async () => (await circuits()).instances.find((c) => c.id === 'i1')?.routers['router-a'],
      'router-a counted',
    );
    for (const ghost of ['ghost-1', 'ghost-2']) stream.write(report(ghost, OPEN));
    await waitFor(() => seen.status, 'the stream ended');
    expect(seen.status!.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(seen.status!.details).toMatch(/speaks for node "?router-a"?; a message for node "?ghost-1"?/);
    const i1 = (await circuits()).instances.find((c) => c.id === 'i1')!;
    expect(Object.keys(i1.routers)).toEqual(['router-a']);
  });

  it('leaves out lines about engines and instances a router was never sent, and impossible figures', async () => {
    const refused = async () => {
      const text = await (await rest('GET', '/metrics/prometheus')).text();
      const count = (reason: string) =>
        Number(
          new RegExp(`nerve_report_lines_refused_total\\{reason="${reason}"[^}]*\\} (\\d+)`).exec(text)?.[1],
        );
      return {
        engine: count('unknown_engine'),
        instance: count('unknown_instance'),
        figures: count('impossible_figures'),
      };
    };
    const before = await refused();
    const stream = open(keys['router-b']);
    outcome(stream);
    stream.write(report('router-b', OPEN, 5, 'invented'));
    stream.write(report('router-b', OPEN, 5, 'i1', 'nope'));
    const bad = report('router-b', OPEN, 5, 'i2');
    bad.loads[0].errors = 9; // more errors than requests
    stream.write(bad);
    await waitFor(async () => {
      const now = await refused();
      return now.engine > before.engine && now.instance > before.instance && now.figures > before.figures;
    }, 'the three lines refused');
    const c = await circuits();
    expect(c.instances.find((i) => i.id === 'i2')?.routers['router-b']).toBeUndefined();
    stream.end();
  });

  it('opens a circuit for the fleet only on a quorum of routers that served the engine', async () => {
    const streams = ['router-a', 'router-b', 'router-c'].map((id) => {
      const s = open(keys[id]);
      outcome(s);
      return s;
    });
    const [a, b, c] = streams;
    // router-a opens i2 alone; b and c serve it with the circuit closed: 1 of 3 is that router's view.
    a.write(report('router-a', OPEN, 10, 'i2'));
    b.write(report('router-b', CLOSED, 10, 'i2'));
    c.write(report('router-c', CLOSED, 10, 'i2'));
    const i2 = async () => (await circuits()).instances.find((x) => x.id === 'i2')!;
    await waitFor(async () => (await i2()).reporters === 3, 'three routers counted');
    expect((await i2()).state).toBe('closed');
    // Two more routers claiming it open without having carried a call to calc move nothing either.
    const idle = ['router-d', 'router-e'].map((id) => {
      const s = open(keys[id]);
      outcome(s);
      s.write(report(id, OPEN, 0, 'i2'));
      return s;
    });
    await waitFor(
      async () => (await i2()).routers['router-e'] === 'open' && (await i2()).routers['router-d'] === 'open',
      'the idle views recorded',
    );
    expect(await i2()).toMatchObject({ state: 'closed', reporters: 3, openOn: 1 });
    // A second router that served it, seeing it open too, makes a majority: open for the fleet.
    b.write(report('router-b', OPEN, 10, 'i2'));
    await waitFor(async () => (await i2()).state === 'open', 'the fleet view open');
    for (const s of [...streams, ...idle]) s.end();
  });

  it('ends the streams and feeds a key opened when the key is revoked', async () => {
    const stream = open(keys['router-r']);
    const seen = outcome(stream);
    stream.write(report('router-r', CLOSED));
    await waitFor(
      async () => (await circuits()).instances.find((c) => c.id === 'i1')?.routers['router-r'],
      'router-r counted',
    );
    const feedKey = (
      (await (await rest('POST', '/api-keys', { name: 'wall', role: 'viewer' })).json()) as {
        key: string;
      }
    ).key;
    const ws = new WebSocket(`ws://127.0.0.1:${api.port}/api/v1/nerve/ws`, {
      headers: { 'x-api-key': feedKey },
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const wsClosed = new Promise<[number, string]>((resolve) =>
      ws.once('close', (code, why) => resolve([code, String(why)])),
    );
    const sse = await fetch(`${base}/events?topics=alerts`, { headers: { 'x-api-key': feedKey } });
    expect(sse.status).toBe(200);
    const sseText = (async () => {
      let text = '';
      try {
        for await (const chunk of sse.body!) text += Buffer.from(chunk).toString();
      } catch {
        // the server ends the response by destroying it
      }
      return text;
    })();

    expect((await rest('DELETE', '/api-keys/router-r')).status).toBe(204);
    expect((await rest('DELETE', '/api-keys/wall')).status).toBe(204);
    await waitFor(() => seen.status, 'the report stream ended');
    expect(seen.status!.code).toBe(grpc.status.UNAUTHENTICATED);
    expect(seen.status!.details).toMatch(/revoked/);
    const [code, why] = await wsClosed;
    expect(code).toBe(1008);
    expect(why).toMatch(/feed ended: credentials no longer accepted/);
    expect(await sseText).toMatch(/feed ended: credentials no longer accepted/);
  });

  it('a refused router backs off instead of storming, never says established, and is counted', async () => {
    const refusedCount = async () => {
      const text = await (await rest('GET', '/metrics/prometheus')).text();
      return Number(
        /nerve_stream_refusals_total\{stream="xDS",reason="permission_denied"[^}]*\} (\d+)/.exec(text)?.[1],
      );
    };
    const before = await refusedCount();
    // Its key names router-d; it claims to be router-z.
    const impostor = await startRouter(cp, 'router-z', { credentials: { token: keys['router-d'] } });
    const times: number[] = [];
    let established = false;
    try {
      await waitFor(
        async () => {
          established ||= impostor.ads.connected;
          const n = (await refusedCount()) - before;
          if (n > times.length) times.push(Date.now());
          return n >= 3;
        },
        'three refusals',
        15_000,
        20,
      );
      expect(established).toBe(false);
      expect(impostor.ads.lastError).toMatch(/router-d may not act as node "router-z"/);
      // Backed off (0.5–1 s, then 1–2 s), where it used to retry every 20–100 ms.
      expect(times[2] - times[0]).toBeGreaterThanOrEqual(1_400);
    } finally {
      await impostor.stop();
    }
  }, 30_000);
});
