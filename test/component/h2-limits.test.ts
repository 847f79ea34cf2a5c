import * as http2 from 'node:http2';
import type * as net from 'node:net';
import { type H2Limits, h2Limits } from '../../src/protocol/h2/limits';
import { H2Server } from '../../src/protocol/h2/server';
import type { H2Stream } from '../../src/protocol/h2/stream';
import {
  E,
  F,
  GRPC,
  REQUEST,
  RawPeer,
  T,
  block,
  errorOf,
  frame,
  headers,
  indexed,
  indexedLiteral,
  settings,
  u32,
} from '../helpers/raw-h2';
import { waitFor } from '../helpers/wait';

/**
 * The limits of h2/limits.ts, each met by the attack it stops: the peer is closed with the RFC's code
 * (where it still reads) and the violation is counted by reason; a legitimate peer is not.
 */

const request = (...extra: string[]) => block(...REQUEST, ...GRPC, ...extra);
const hold = () => block(':method', 'POST', ':scheme', 'http', ':path', '/hold', ...GRPC);

interface Fixture {
  server: H2Server;
  port: number;
  peers: RawPeer[];
  /** Streams handed to the listener. */
  routed: number[];
}

/** A server answering 200 + trailers at once, except /hold (answered, never ended) and /park (no handler). */
async function start(limits: Partial<Record<keyof H2Limits, number>> = {}): Promise<Fixture> {
  const routed: number[] = [];
  const server = new H2Server(
    (stream: H2Stream) => {
      routed.push(stream.id);
      if (stream.headers.includes('/park')) return; // no handler: what it sends waits in stream.early
      stream.respond([':status', '200'], stream.headers.includes('/hold') ? false : true);
      stream.attach({
        onHeaders: () => undefined,
        onData: () => undefined,
        onEnd: () => undefined,
        onReset: () => undefined,
        onDrain: () => undefined,
      });
    },
    undefined,
    h2Limits(limits),
  );
  await new Promise<void>((r) => server.server.listen(0, '127.0.0.1', r));
  return { server, port: (server.server.address() as net.AddressInfo).port, peers: [], routed };
}

async function connect(f: Fixture, handshake = true): Promise<RawPeer> {
  const p = await RawPeer.connect(f.port, handshake);
  f.peers.push(p);
  return p;
}

async function stop(f: Fixture): Promise<void> {
  for (const p of f.peers) p.close();
  for (const c of f.server.connections) c.destroy('test over');
  await new Promise<void>((r) => f.server.server.close(() => r()));
}

/** Runs `body` against a server with `limits`, then stops it and its peers, whatever happened. */
async function withServer(
  limits: Partial<Record<keyof H2Limits, number>>,
  body: (f: Fixture) => Promise<void>,
): Promise<void> {
  const f = await start(limits);
  try {
    await body(f);
  } finally {
    await stop(f);
  }
}

const violations = (f: Fixture, reason: string) => f.server.stats.violations.get(reason) ?? 0;

/** Writes `unit` over and over without reading what comes back, until the server closes the connection. */
async function floodUnread(p: RawPeer, unit: Buffer, maxBytes = 256 << 20): Promise<void> {
  p.socket.pause();
  const chunk = Buffer.concat(Array.from({ length: Math.ceil(65_536 / unit.length) }, () => unit));
  while (!p.closed && p.bytesSent < maxBytes) {
    p.send(chunk);
    if (p.socket.writableLength > 1 << 20) await new Promise((r) => setTimeout(r, 1));
  }
  await waitFor(() => p.closed, 'the server closed the flooding connection');
}

describe('HTTP/2 limits against floods', () => {
  it('empty CONTINUATION frames (CVE-2024-27316): closed at the second empty frame, ENHANCE_YOUR_CALM', async () => {
    await withServer({}, async (f) => {
      const p = await connect(f);
      const fields = request();
      p.send(headers(1, fields.subarray(0, 5), 0));
      for (let i = 0; i < 10; i++) p.send(frame(T.CONTINUATION, 0, 1));
      expect(await p.connectionError(E.ENHANCE_YOUR_CALM)).toContain('empty payload');
      expect(violations(f, 'empty_frames')).toBe(1);
      expect(p.bytesSent).toBeLessThan(200);
    });
  });

  it('a header block in too many CONTINUATION frames, or too many bytes, is refused before it is kept', async () => {
    await withServer({ maxContinuationFrames: 8, maxHeaderBlockBytes: 4_096 }, async (f) => {
      const p = await connect(f);
      p.send(headers(1, Buffer.from([0x00]), 0));
      for (let i = 0; i < 20; i++) p.send(frame(T.CONTINUATION, 0, 1, Buffer.from([0x01])));
      expect(await p.connectionError(E.ENHANCE_YOUR_CALM)).toContain('CONTINUATION');
      expect(violations(f, 'continuation_flood')).toBe(1);

      const q = await connect(f);
      q.send(
        headers(3, Buffer.alloc(3_000, 0x00), 0),
        frame(T.CONTINUATION, 0, 3, Buffer.alloc(3_000, 0x00)),
      );
      expect(await q.connectionError(E.ENHANCE_YOUR_CALM)).toContain('4096 bytes');
      expect(violations(f, 'header_block_too_large')).toBe(1);
    });
  });

  it('an HPACK bomb (a small block of indexes to a large entry) gets 431 and costs its bytes only', async () => {
    await withServer({}, async (f) => {
      const p = await connect(f);
      // One 4 kB entry in the table, then 15,000 one-byte references to it: a 60 MB header list.
      const entry = indexedLiteral('x-bomb', 'b'.repeat(4_000));
      const bomb = Buffer.concat([request(), entry, ...Array.from({ length: 15_000 }, () => indexed(62))]);
      const parts = [headers(1, bomb.subarray(0, 16_000), F.END_STREAM)];
      for (let at = 16_000; at < bomb.length; at += 16_000) {
        const last = at + 16_000 >= bomb.length;
        parts.push(frame(T.CONTINUATION, last ? F.END_HEADERS : 0, 1, bomb.subarray(at, at + 16_000)));
      }
      const heap = process.memoryUsage().heapUsed;
      p.send(...parts);
      const answer = await p.response(1);
      expect(answer.payload.toString('latin1')).toContain('431');
      expect(process.memoryUsage().heapUsed - heap).toBeLessThan(30 << 20);
      expect(violations(f, 'header_list_too_large')).toBe(1);
      // The table stayed in step: the next request on the connection is served.
      p.send(headers(3, request(), F.END_HEADERS | F.END_STREAM));
      await p.response(3);
      // Bomb after bomb: each still costs its decoding; past maxRefusedHeaderLists the connection goes.
      const refs = Buffer.concat([request(), ...Array.from({ length: 15_000 }, () => indexed(62))]);
      for (let id = 5; id < 5 + 2 * 12; id += 2)
        p.send(
          headers(id, refs.subarray(0, 16_000), F.END_STREAM),
          frame(T.CONTINUATION, F.END_HEADERS, id, refs.subarray(16_000)),
        );
      expect(await p.connectionError(E.ENHANCE_YOUR_CALM)).toContain(
        'more than 10 requests with a header list',
      );
      expect(violations(f, 'header_list_flood')).toBe(1);
    });
  });

  it.each([
    ['SETTINGS', frame(T.SETTINGS, 0, 0), 'outbound_control_frames'],
    ['PING', frame(T.PING, 0, 0, Buffer.alloc(8)), 'outbound_control_frames'],
  ])('a %s flood from a peer that does not read is closed (CVE-2019-9512/9515)', async (_n, unit, reason) => {
    await withServer({ maxOutboundControlFrames: 1_000 }, async (f) => {
      const p = await connect(f);
      await floodUnread(p, unit);
      expect(violations(f, reason)).toBe(1);
    });
  });

  it('a reset flood (invalid requests, each answered by RST_STREAM, never read) is closed (CVE-2019-9514)', async () => {
    await withServer({ maxOutboundControlFrames: 1_000, maxConcurrentStreams: 1_000 }, async (f) => {
      const p = await connect(f);
      p.socket.pause();
      let id = 1;
      const bad = block(':method', 'POST', ':path', '/x'); // no :scheme: malformed, reset
      while (!p.closed && id < 2_000_000) {
        const batch: Buffer[] = [];
        for (let i = 0; i < 500; i++, id += 2) batch.push(headers(id, bad, F.END_HEADERS | F.END_STREAM));
        p.send(...batch);
        if (p.socket.writableLength > 1 << 20) await new Promise((r) => setTimeout(r, 1));
      }
      await waitFor(() => p.closed, 'closed');
      expect(violations(f, 'outbound_control_frames')).toBe(1);
    });
  });

  it('rapid reset: past 100 resets before the answer, over half of the streams, the connection is closed; and once a client has reset one, a stream it resets in the same read is never routed', async () => {
    await withServer({}, async (f) => {
      const p = await connect(f);
      p.send(headers(1, hold()));
      await p.response(1);
      p.send(frame(T.RST_STREAM, 0, 1, u32(E.CANCEL)));
      await p.alive();
      p.send(
        headers(3, hold()),
        frame(T.RST_STREAM, 0, 3, u32(E.CANCEL)),
        headers(5, request(), F.END_HEADERS | F.END_STREAM),
      );
      await p.response(5);
      expect(f.routed).toEqual([1, 5]); // 3 was reset before its read was over: nothing saw it
      const flood: Buffer[] = [];
      for (let id = 7; id < 7 + 2 * 150; id += 2)
        flood.push(headers(id, hold()), frame(T.RST_STREAM, 0, id, u32(E.CANCEL)));
      p.send(...flood);
      expect(await p.connectionError(E.ENHANCE_YOUR_CALM)).toContain('reset before their response');
      expect(violations(f, 'rapid_reset')).toBe(1);
    });
  });

  it('empty DATA frames (CVE-2019-9518) are closed at the second in a row', async () => {
    await withServer({}, async (f) => {
      const p = await connect(f);
      p.send(headers(1, hold()));
      await p.response(1);
      p.send(frame(T.DATA, 0, 1), frame(T.DATA, 0, 1), frame(T.DATA, 0, 1));
      await p.connectionError(E.ENHANCE_YOUR_CALM);
      expect(violations(f, 'empty_frames')).toBe(1);
    });
  });

  it('a PRIORITY flood is closed past 100 per stream opened', async () => {
    await withServer({}, async (f) => {
      const p = await connect(f);
      const priority = Buffer.concat([u32(0), Buffer.from([16])]);
      const flood = Array.from({ length: 150 }, (_, i) => frame(T.PRIORITY, 0, 2 * i + 1, priority));
      p.send(...flood.slice(0, 100)); // 100 × (1 + no streams opened): still allowed
      await p.alive();
      p.send(...flood.slice(100));
      await p.connectionError(E.ENHANCE_YOUR_CALM);
      expect(violations(f, 'priority_flood')).toBe(1);
    });
  });

  it('a WINDOW_UPDATE flood is closed past 10 per DATA frame sent', async () => {
    await withServer({}, async (f) => {
      const p = await connect(f);
      p.send(...Array.from({ length: 50 }, () => frame(T.WINDOW_UPDATE, 0, 0, u32(1))));
      await p.connectionError(E.ENHANCE_YOUR_CALM);
      expect(violations(f, 'window_update_flood')).toBe(1);
    });
  });

  it('too many SETTINGS in one frame is a flood', async () => {
    await withServer({}, async (f) => {
      const p = await connect(f);
      p.send(settings(...Array.from({ length: 40 }, (): [number, number] => [0x4, 65_535])));
      await p.connectionError(E.ENHANCE_YOUR_CALM);
      expect(violations(f, 'settings_flood')).toBe(1);
    });
  });
});

describe('HTTP/2 outbound frame limits do not hurt a peer that reads', () => {
  it('12,000 small DATA frames written in one turn reach a reading peer: held back at half the limit, then sent', async () => {
    const server = new H2Server((stream) => {
      stream.respond([':status', '200'], false);
      stream.attach({
        onHeaders: () => undefined,
        onData: () => undefined,
        onEnd: () => undefined,
        onReset: () => undefined,
        onDrain: () => undefined,
      });
      for (let i = 0; i < 12_000; i++) stream.write(Buffer.from([i & 0xff]));
      stream.end();
    });
    await new Promise<void>((r) => server.server.listen(0, '127.0.0.1', r));
    const client = http2.connect(`http://127.0.0.1:${(server.server.address() as net.AddressInfo).port}`);
    try {
      const req = client.request({ ':method': 'GET', ':path': '/many' });
      let n = 0;
      req.on('data', (c: Buffer) => (n += c.length));
      await new Promise((r) => req.on('end', r));
      expect(n).toBe(12_000);
      expect(server.stats.violations.size).toBe(0);
    } finally {
      client.close();
      for (const c of server.connections) c.destroy('test over');
      await new Promise<void>((r) => server.server.close(() => r()));
    }
  });
});

describe('HTTP/2 limits on connections and time', () => {
  it('caps connections: one past maxConnections is closed at once; others still served', async () => {
    await withServer({ maxConnections: 2 }, async (f) => {
      await connect(f);
      await connect(f);
      const third = await connect(f, false);
      await waitFor(() => third.closed, 'the third connection closed');
      expect(violations(f, 'connection_limit')).toBe(1);
      const first = f.peers[0];
      first.send(headers(1, request(), F.END_HEADERS | F.END_STREAM));
      await first.response(1);
    });
  });

  it('closes a connection without its preface in time (PROTOCOL_ERROR)', async () => {
    await withServer({ prefaceTimeoutMs: 100 }, async (f) => {
      const p = await connect(f, false);
      p.send(Buffer.from('PRI * HTTP/2.0\r\n')); // half a preface, then nothing
      expect(await p.connectionError(E.PROTOCOL_ERROR)).toContain('preface');
      expect(violations(f, 'preface_timeout')).toBe(1);
    });
  });

  it('slowloris: a header block, or a frame, not finished in time is closed (ENHANCE_YOUR_CALM)', async () => {
    await withServer({ headersTimeoutMs: 150 }, async (f) => {
      const p = await connect(f);
      p.send(headers(1, request().subarray(0, 10), 0)); // no END_HEADERS, no CONTINUATION follows
      expect(await p.connectionError(E.ENHANCE_YOUR_CALM)).toContain('header block');
      expect(violations(f, 'headers_timeout')).toBe(1);

      const q = await connect(f);
      q.send(frame(T.PING, 0, 0, Buffer.alloc(8)).subarray(0, 12)); // part of a frame
      const started = Date.now();
      while (!q.closed && Date.now() - started < 5_000) await new Promise((r) => setTimeout(r, 20));
      expect(violations(f, 'frame_timeout')).toBe(1);
    });
  });

  it('closes an idle connection gracefully (two GOAWAYs NO_ERROR), then serves a new one', async () => {
    await withServer({ idleTimeoutMs: 200 }, async (f) => {
      const p = await connect(f);
      p.send(headers(1, request(), F.END_HEADERS | F.END_STREAM));
      await p.response(1);
      const goaways = () => p.frames.filter((x) => x.type === T.GOAWAY);
      await waitFor(() => goaways().length >= 1, 'the first GOAWAY');
      const ping = await p.next((x) => x.type === T.PING && (x.flags & F.ACK) === 0, 'the drain PING');
      p.send(frame(T.PING, F.ACK, 0, ping.payload));
      await waitFor(() => p.closed, 'closed');
      expect(goaways().map(errorOf)).toEqual([E.NO_ERROR, E.NO_ERROR]);
      expect(goaways()[1].payload.readUInt32BE(0)).toBe(1);
      expect(f.server.stats.drains.get('idle_timeout')).toBe(1);
      const q = await connect(f);
      q.send(headers(1, request(), F.END_HEADERS | F.END_STREAM));
      await q.response(1);
    });
  });

  it('drains a connection past its maximum age, and closes it after the grace for calls in flight', async () => {
    await withServer({ maxConnectionAgeMs: 200, drainGraceMs: 300 }, async (f) => {
      const p = await connect(f);
      p.send(headers(1, hold())); // a call that never ends
      await p.response(1);
      await waitFor(() => p.frames.some((x) => x.type === T.GOAWAY), 'GOAWAY for age');
      const opened = Date.now();
      await waitFor(() => p.closed, 'closed after the grace');
      expect(Date.now() - opened).toBeGreaterThanOrEqual(200);
      expect(f.server.stats.drains.get('max_age')).toBe(1);
    });
  });

  it('bounds the memory a connection holds (DATA parked before a handler takes it)', async () => {
    await withServer({ maxConnectionMemory: 200_000, idleTimeoutMs: 400 }, async (f) => {
      const p = await connect(f);
      p.send(headers(1, block(':method', 'POST', ':scheme', 'http', ':path', '/park', ...GRPC)));
      for (let i = 0; i < 20; i++) p.send(frame(T.DATA, 0, 1, Buffer.alloc(16_000, 1)));
      await p.connectionError(E.ENHANCE_YOUR_CALM);
      expect(violations(f, 'memory')).toBe(1);
    });
  });

  it('a connection idle long enough to let its write buffer go is served as before', async () => {
    await withServer({ idleTimeoutMs: 60_000, headersTimeoutMs: 100 }, async (f) => {
      const p = await connect(f);
      const [conn] = f.server.connections;
      const released = () => (conn as unknown as { wbuf: Buffer }).wbuf.length === 0;
      await waitFor(released, 'the write buffer released');
      for (let id = 1; id < 8; id += 2) {
        p.send(headers(id, request(), F.END_HEADERS | F.END_STREAM));
        await p.response(id);
      }
      await p.alive();
    });
  });
});
