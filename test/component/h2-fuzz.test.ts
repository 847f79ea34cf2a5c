import * as http2 from 'node:http2';
import * as net from 'node:net';
import { HpackDecoder, HpackError } from '../../src/protocol/h2/hpack/decoder';
import { HpackEncoder } from '../../src/protocol/h2/hpack/encoder';
import { H2Server } from '../../src/protocol/h2/server';
import type { H2Stream } from '../../src/protocol/h2/stream';

/** A seeded generator (mulberry32): a failing case can be replayed from its seed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function mutate(valid: Buffer, rnd: () => number): Buffer {
  const out = Buffer.from(valid);
  const edits = 1 + Math.floor(rnd() * 6);
  for (let i = 0; i < edits; i++) out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
  const cut = rnd() < 0.3 ? Math.floor(rnd() * out.length) : out.length;
  return out.subarray(0, cut);
}

const frameOf = (type: number, flags: number, id: number, payload: Buffer) => {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(id, 5);
  return Buffer.concat([head, payload]);
};

describe('malformed input never gets past a clear protocol error', () => {
  it('HPACK: random and mutated blocks fail with HpackError or decode, nothing else', () => {
    const rnd = random(7);
    const valid = Buffer.from(
      new HpackEncoder().encode(
        [':method', 'POST', ':path', '/a.B/C', 'content-type', 'application/grpc', 'x-k', 'v'.repeat(40)],
        undefined,
        undefined,
        0,
      ),
    );
    for (let i = 0; i < 5_000; i++) {
      const block =
        i % 2 === 0 ? mutate(valid, rnd) : Buffer.from(Array.from({ length: rnd() * 64 }, () => rnd() * 256));
      try {
        new HpackDecoder().decode(block);
      } catch (err) {
        if (!(err instanceof HpackError)) throw new Error(`case ${i}: not an HpackError`, { cause: err });
      }
    }
  });

  it('HTTP/2: 1,000 mutated client connections close with a protocol error; the server goes on serving', async () => {
    const internal: Error[] = [];
    const server = new H2Server(
      (stream: H2Stream) => {
        stream.respond([':status', '200'], false);
        stream.attach({
          onHeaders: () => undefined,
          onData: (s, c) => void s.write(c),
          onEnd: (s) => s.end(['grpc-status', '0']),
          onReset: () => undefined,
          onDrain: () => undefined,
        });
      },
      (err) => internal.push(err),
    );
    await new Promise<void>((r) => server.server.listen(0, '127.0.0.1', r));
    const port = (server.server.address() as net.AddressInfo).port;
    const block = Buffer.from(
      new HpackEncoder().encode(
        [':method', 'POST', ':scheme', 'http', ':path', '/x', 'te', 'trailers'],
        undefined,
        undefined,
        0,
      ),
    );
    const valid = Buffer.concat([
      Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'),
      frameOf(4, 0, 0, Buffer.from([0, 4, 0, 1, 0, 0])),
      frameOf(8, 0, 0, Buffer.from([0, 1, 0, 0])),
      frameOf(1, 0x04, 1, block),
      frameOf(0, 0, 1, Buffer.from('hello')),
      frameOf(6, 0, 0, Buffer.alloc(8)),
      frameOf(0, 0x01, 1, Buffer.from('world')),
      frameOf(1, 0x04, 3, block),
      frameOf(3, 0, 3, Buffer.from([0, 0, 0, 8])),
    ]);
    const rnd = random(42);
    try {
      for (let i = 0; i < 1_000; i++) {
        const bytes = mutate(valid, rnd);
        await new Promise<void>((resolve) => {
          const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
          socket.on('data', () => undefined);
          socket.on('error', () => undefined);
          socket.on('close', () => resolve());
        });
      }
      expect(internal).toEqual([]);
      const client = http2.connect(`http://127.0.0.1:${port}`);
      const req = client.request({ ':method': 'POST', ':path': '/x' });
      req.end('still serving');
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      await new Promise((r) => req.on('end', r));
      expect(Buffer.concat(chunks).toString()).toBe('still serving');
      client.close();
    } finally {
      for (const c of server.connections) c.destroy('test over');
      await new Promise<void>((r) => server.server.close(() => r()));
    }
  });
});
