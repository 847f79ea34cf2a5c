import * as http2 from 'node:http2';
import * as net from 'node:net';
import { H2ClientConnection } from '../../src/protocol/h2/client';
import { HpackEncoder } from '../../src/protocol/h2/hpack/encoder';
import { H2Server } from '../../src/protocol/h2/server';
import type { H2Stream, StreamHandler } from '../../src/protocol/h2/stream';
import { headerValue } from '../../src/router/http/headers';
import { waitFor } from '../helpers/wait';

/**
 * The router's own HTTP/2 layer against node:http2 (nghttp2), an independent implementation, on both
 * sides: bodies larger than every flow-control window, header blocks split over CONTINUATION frames,
 * PING, GOAWAY, resets, the peer's stream limit, and input that breaks the protocol.
 */

/** Echoes each request's body back, with the request's x-big header when present. */
class Echo implements StreamHandler {
  private readonly holdOpen: boolean;
  constructor(stream: H2Stream) {
    this.holdOpen = headerValue(stream.headers, ':path') === '/hold-open';
    const big = headerValue(stream.headers, 'x-big');
    stream.respond([':status', '200', ...(big ? ['x-big', big] : [])], false);
    stream.attach(this);
  }
  onHeaders(): void {}
  onData(stream: H2Stream, chunk: Buffer): void {
    if (!stream.write(chunk)) stream.pause();
  }
  onEnd(stream: H2Stream): void {
    if (!this.holdOpen) stream.end(['x-done', 'yes']);
  }
  onReset(): void {
    resets++;
  }
  onDrain(stream: H2Stream): void {
    stream.resume();
  }
}
let resets = 0;
const ignore: StreamHandler = {
  onHeaders: () => undefined,
  onData: () => undefined,
  onEnd: () => undefined,
  onReset: () => undefined,
  onDrain: () => undefined,
};

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

function body(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + (i >> 8)) & 0xff;
  return b;
}

describe('the router HTTP/2 layer', () => {
  let server: H2Server;
  let port: number;
  beforeAll(async () => {
    server = new H2Server((stream) => new Echo(stream));
    port = await listen(server.server);
  });
  afterAll(async () => {
    for (const c of server.connections) c.destroy('test over');
    await new Promise<void>((r) => server.server.close(() => r()));
  });

  it('serves node:http2: 5 MB each way through the windows, a 40 kB header in CONTINUATION frames, slow reading', async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const big = 'v'.repeat(40_000);
      const sent = body(5 * 1024 * 1024);
      const req = client.request({ ':method': 'POST', ':path': '/echo', 'x-big': big });
      let head: http2.IncomingHttpHeaders = {};
      let trailers: http2.IncomingHttpHeaders = {};
      req.on('response', (h) => (head = h));
      req.on('trailers', (t) => (trailers = t));
      req.end(sent);
      req.pause(); // the reader is slow: the echo must wait on flow control, not buffer without bound
      await new Promise((r) => setTimeout(r, 200));
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.resume();
      await new Promise((r) => req.on('end', r));
      expect(head[':status']).toBe(200);
      expect(head['x-big']).toBe(big);
      expect(trailers['x-done']).toBe('yes');
      expect(Buffer.concat(chunks).equals(sent)).toBe(true);
      const rtt = await new Promise<number>((res, rej) =>
        client.ping((err, ms) => (err ? rej(err) : res(ms))),
      );
      expect(rtt).toBeGreaterThanOrEqual(0);
    } finally {
      client.close();
    }
  });

  it('serves many concurrent streams on one connection, and hears a client reset', async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) => {
          const req = client.request({ ':method': 'POST', ':path': '/echo' });
          req.end(Buffer.from(`call ${i}`));
          const chunks: Buffer[] = [];
          req.on('data', (c: Buffer) => chunks.push(c));
          return new Promise<string>((r) => req.on('end', () => r(Buffer.concat(chunks).toString())));
        }),
      );
      expect(results).toEqual(Array.from({ length: 200 }, (_, i) => `call ${i}`));
      const before = resets;
      const req = client.request({ ':method': 'POST', ':path': '/hold-open' });
      req.write('partial');
      await new Promise((r) => req.once('response', r));
      req.close(http2.constants.NGHTTP2_CANCEL);
      await waitFor(() => resets > before, 'the handler told of the reset');
    } finally {
      client.close();
    }
  });

  it('closes gracefully: GOAWAY, the call in flight finishes, close() resolves only once it has', async () => {
    const held: H2Stream[] = [];
    const draining = new H2Server((stream) => {
      stream.attach(ignore);
      held.push(stream);
    });
    const drainPort = await listen(draining.server);
    const client = http2.connect(`http://127.0.0.1:${drainPort}`);
    try {
      const req = client.request({ ':method': 'POST', ':path': '/slow' });
      req.end();
      const answer = new Promise<number>((r) => req.on('response', (h) => r(Number(h[':status']))));
      await waitFor(() => held.length === 1, 'the call reached the server');
      let closed = false;
      const closing = draining.close().then(() => (closed = true));
      for (const c of draining.connections) c.close();
      await new Promise((r) => client.once('goaway', r));
      expect(closed).toBe(false);
      held[0].respond([':status', '200'], true);
      expect(await answer).toBe(200);
      await closing;
      expect(draining.connections.size).toBe(0);
    } finally {
      client.destroy();
    }
  });

  it('answers bytes that are not HTTP/2 with GOAWAY PROTOCOL_ERROR, and keeps serving others', async () => {
    const socket = net.connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    socket.on('data', (d: Buffer) => received.push(d));
    socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    await new Promise((r) => socket.on('close', r));
    const all = Buffer.concat(received);
    const goaway = all.indexOf(Buffer.from([0x07, 0x00, 0x00, 0x00, 0x00, 0x00]), 3);
    expect(goaway).toBeGreaterThan(0);
    expect(all.readUInt32BE(goaway + 10)).toBe(0x1); // PROTOCOL_ERROR
    expect(all.subarray(goaway + 14).toString()).toContain('no client preface');

    // A header block that is not valid HPACK: COMPRESSION_ERROR.
    const bad = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    bad.on('data', (d: Buffer) => got.push(d));
    const preface = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
    const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
    const headers = Buffer.from([0, 0, 1, 1, 0x05, 0, 0, 0, 1, 0x80]); // index 0
    bad.write(Buffer.concat([preface, settings, headers]));
    await new Promise((r) => bad.on('close', r));
    expect(Buffer.concat(got).toString()).toContain('HPACK: index 0');

    const client = http2.connect(`http://127.0.0.1:${port}`);
    const req = client.request({ ':method': 'POST', ':path': '/echo' });
    req.end('still here');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    await new Promise((r) => req.on('end', r));
    expect(Buffer.concat(chunks).toString()).toBe('still here');
    client.close();
  });
});

describe('the router HTTP/2 server against abuse', () => {
  let server: H2Server;
  let port: number;
  let streams = 0;
  beforeAll(async () => {
    server = new H2Server((stream) => {
      streams++;
      new Echo(stream);
    });
    port = await listen(server.server);
  });
  afterAll(async () => {
    for (const c of server.connections) c.destroy('test over');
    await new Promise<void>((r) => server.server.close(() => r()));
  });

  it('resets a malformed request (an uppercase header name) before anything sees it', async () => {
    const socket = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    socket.on('data', (d: Buffer) => got.push(d));
    const block = Buffer.from(
      new HpackEncoder().encode(
        [':method', 'POST', ':scheme', 'http', ':path', '/x', 'X-Bad', '1'],
        undefined,
        undefined,
        0,
      ),
    );
    const head = Buffer.from([0, 0, block.length, 1, 0x05, 0, 0, 0, 1]); // HEADERS, END_STREAM|END_HEADERS, stream 1
    const before = streams;
    socket.write(
      Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
        head,
        block,
      ]),
    );
    const rst = Buffer.from([0, 0, 4, 3, 0, 0, 0, 0, 1, 0, 0, 0, 1]); // RST_STREAM stream 1 PROTOCOL_ERROR
    await waitFor(() => Buffer.concat(got).includes(rst), 'RST_STREAM PROTOCOL_ERROR');
    expect(streams).toBe(before);
    socket.destroy();
  });

  it('checks every request, also one with the names of the well-formed request before it (te: gzip)', async () => {
    const socket = net.connect(port, '127.0.0.1');
    const got: Buffer[] = [];
    socket.on('data', (d: Buffer) => got.push(d));
    const encoder = new HpackEncoder();
    const request = (id: number, te: string) => {
      const block = Buffer.from(
        encoder.encode(
          [':method', 'POST', ':scheme', 'http', ':path', '/x', 'te', te],
          undefined,
          undefined,
          0,
        ),
      );
      return Buffer.concat([Buffer.from([0, 0, block.length, 1, 0x05, 0, 0, 0, id]), block]);
    };
    const before = streams;
    socket.write(
      Buffer.concat([
        Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
        Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]),
        request(1, 'trailers'),
        request(3, 'gzip'),
      ]),
    );
    const rst = Buffer.from([0, 0, 4, 3, 0, 0, 0, 0, 3, 0, 0, 0, 1]); // RST_STREAM stream 3 PROTOCOL_ERROR
    await waitFor(() => Buffer.concat(got).includes(rst), 'RST_STREAM PROTOCOL_ERROR on stream 3');
    expect(streams).toBe(before + 1); // stream 1 was served
    socket.destroy();
  });

  it('stops writing to a peer that grants huge windows but does not read, at about 1 MiB buffered', async () => {
    let written = 0;
    const flood = new H2Server((stream) => {
      const piece = Buffer.alloc(64 * 1024, 'f');
      const pump = () => {
        while (written < 64 * 1024 * 1024) {
          written += piece.length;
          if (!stream.write(piece)) return;
        }
        stream.end();
      };
      stream.respond([':status', '200'], false);
      stream.attach({ ...ignore, onDrain: pump });
      pump();
    });
    const floodPort = await listen(flood.server);
    const socket = net.connect(floodPort, '127.0.0.1');
    const block = Buffer.from(
      new HpackEncoder().encode(
        [':method', 'GET', ':scheme', 'http', ':path', '/flood'],
        undefined,
        undefined,
        0,
      ),
    );
    const settings = Buffer.from([0, 0, 6, 4, 0, 0, 0, 0, 0, 0, 4, 0x7f, 0xff, 0xff, 0xff]); // INITIAL_WINDOW_SIZE max
    const windowUpdate = Buffer.from([0, 0, 4, 8, 0, 0, 0, 0, 0, 0x7f, 0xff, 0, 0]); // connection window
    const head = Buffer.from([0, 0, block.length, 1, 0x05, 0, 0, 0, 1]);
    socket.write(
      Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), settings, windowUpdate, head, block]),
    );
    socket.pause(); // and never read
    try {
      await waitFor(() => written > 0, 'the flood started');
      let last = -1;
      await waitFor(async () => {
        await new Promise((r) => setTimeout(r, 100));
        const steady = written === last;
        last = written;
        return steady;
      }, 'the writer held back');
      const [conn] = flood.connections;
      expect(conn.socket.writableLength).toBeLessThan(2 * 1024 * 1024);
      expect(written).toBeLessThan(32 * 1024 * 1024); // what the kernel's socket buffers took, and 1 MiB
    } finally {
      socket.destroy();
      for (const c of flood.connections) c.destroy('test over');
      await new Promise<void>((r) => flood.server.close(() => r()));
    }
  });

  it('closes a connection that resets streams as fast as it opens them (rapid reset)', async () => {
    const client = http2.connect(`http://127.0.0.1:${port}`);
    client.on('error', () => undefined);
    const goaway = new Promise<number>((resolve) => client.on('goaway', (code) => resolve(code)));
    for (let i = 0; i < 1_100 && !client.destroyed && !client.closed; i++) {
      const req = client.request({ ':method': 'POST', ':path': '/hold-open' });
      req.on('error', () => undefined);
      req.write('x');
      req.close(http2.constants.NGHTTP2_CANCEL);
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    expect(await goaway).toBe(http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
    client.destroy();
  });
});

describe('the router HTTP/2 client', () => {
  it('talks to node:http2: large bodies, a large response header, the peer stream limit, GOAWAY', async () => {
    const peer = http2.createServer({ settings: { maxConcurrentStreams: 2 } });
    const held: http2.ServerHttp2Stream[] = [];
    peer.on('stream', (stream, headers) => {
      if (headers[':path'] === '/hold') {
        stream.on('error', () => undefined); // refused by the GOAWAY below
        held.push(stream);
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        stream.respond({ ':status': 200, 'x-big': 'h'.repeat(30_000) }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.end(Buffer.concat(chunks));
      });
    });
    const peerPort = await listen(peer as unknown as net.Server);
    const conn = H2ClientConnection.connect('127.0.0.1', peerPort);
    try {
      const sent = body(3 * 1024 * 1024);
      const result = await new Promise<{
        head: readonly string[];
        data: Buffer;
        trailers: readonly string[];
      }>((resolve, reject) => {
        const data: Buffer[] = [];
        let head: readonly string[] = [];
        const s = conn.request(
          [':method', 'POST', ':scheme', 'http', ':path', '/echo', ':authority', 'x'],
          undefined,
          {
            onHeaders: (_s, h, end) =>
              end ? resolve({ head, data: Buffer.concat(data), trailers: h }) : (head = h),
            onData: (_s, c) => void data.push(Buffer.from(c)),
            onEnd: () => reject(new Error('ended without trailers')),
            onReset: (_s, _c, why) => reject(new Error(why)),
            onDrain: () => undefined,
          },
        );
        let at = 0;
        const pump = () => {
          while (at < sent.length) {
            const piece = sent.subarray(at, at + 100_000);
            at += piece.length;
            if (!s.write(piece)) return;
          }
          s.end();
        };
        (s.handler as { onDrain: (s: H2Stream) => void }).onDrain = pump;
        pump();
      });
      expect(headerValue(result.head, ':status')).toBe('200');
      expect(headerValue(result.head, 'x-big')).toHaveLength(30_000);
      expect(result.data.equals(sent)).toBe(true);
      expect(headerValue(result.trailers, 'grpc-status')).toBe('0');

      // Two streams held open fill the peer's limit of 2: the connection says it can take no more.
      const noop: StreamHandler = {
        onHeaders: () => undefined,
        onData: () => undefined,
        onEnd: () => undefined,
        onReset: () => undefined,
        onDrain: () => undefined,
      };
      const hold = [':method', 'POST', ':scheme', 'http', ':path', '/hold', ':authority', 'x'];
      conn.request(hold, undefined, noop);
      conn.request(hold, undefined, noop);
      expect(conn.peerMaxStreams).toBe(2);
      expect(conn.available).toBe(false);
      await waitFor(() => held.length === 2, 'the peer holding two streams');

      // The peer goes away: GOAWAY is heard, the held streams end with the connection.
      let goaway = false;
      conn.onGoaway = () => (goaway = true);
      for (const s of held) s.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, 3);
      await waitFor(() => goaway, 'GOAWAY heard');
      expect(conn.available).toBe(false);
    } finally {
      conn.destroy('test over');
      await new Promise<void>((r) => peer.close(() => r()));
    }
  });

  it('drops informational (1xx) response headers: the handler hears the final response only', async () => {
    const peer = http2.createServer();
    peer.on('stream', (stream) => {
      stream.additionalHeaders({ ':status': 103, link: '</style.css>; rel=preload' });
      stream.respond({ ':status': 200, 'x-final': 'yes' });
      stream.end('body');
    });
    const peerPort = await listen(peer as unknown as net.Server);
    const conn = H2ClientConnection.connect('127.0.0.1', peerPort);
    try {
      const blocks: (readonly string[])[] = [];
      await new Promise<void>((resolve, reject) => {
        const s = conn.request(
          [':method', 'GET', ':scheme', 'http', ':path', '/', ':authority', 'x'],
          undefined,
          {
            onHeaders: (_s, h) => void blocks.push(h),
            onData: () => undefined,
            onEnd: () => resolve(),
            onReset: (_s, _c, why) => reject(new Error(why)),
            onDrain: () => undefined,
          },
        );
        s.end();
      });
      expect(blocks).toHaveLength(1);
      expect(headerValue(blocks[0], ':status')).toBe('200');
      expect(headerValue(blocks[0], 'x-final')).toBe('yes');
    } finally {
      conn.destroy('test over');
      await new Promise<void>((r) => peer.close(() => r()));
    }
  });
});
