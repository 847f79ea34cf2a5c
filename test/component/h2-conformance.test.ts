import type * as net from 'node:net';
import { H2Server } from '../../src/protocol/h2/server';
import type { H2Stream, StreamHandler } from '../../src/protocol/h2/stream';
import { h2Limits } from '../../src/protocol/h2/limits';
import {
  E,
  F,
  GRPC,
  PREFACE,
  REQUEST,
  RawPeer,
  T,
  block,
  errorOf,
  frame,
  headers,
  settings,
  sizeUpdate,
  u32,
} from '../helpers/raw-h2';

/**
 * The router's HTTP/2 server case by case, by section of RFC 9113 (and RFC 7541 for HPACK), against a
 * raw frame writer: the cases a standard conformance suite (h2spec) runs, each answered as the RFC says.
 * A connection error is GOAWAY with the code and a close; a stream error is RST_STREAM with the code,
 * and the connection keeps answering PINGs.
 */

/** Answers each request 200 with its body and trailers; /hold never ends its side. */
class Echo implements StreamHandler {
  private readonly hold: boolean;
  constructor(stream: H2Stream) {
    this.hold = stream.headers.includes('/hold');
    stream.respond([':status', '200'], false);
    stream.attach(this);
  }
  onHeaders(): void {}
  onData(stream: H2Stream, chunk: Buffer): void {
    stream.write(chunk);
  }
  onEnd(stream: H2Stream): void {
    if (!this.hold) stream.end(['grpc-status', '0']);
  }
  onReset(): void {}
  onDrain(): void {}
}

let served = 0;
let server: H2Server;
let port: number;
const peers: RawPeer[] = [];

async function listen(s: H2Server): Promise<number> {
  await new Promise<void>((r) => s.server.listen(0, '127.0.0.1', r));
  return (s.server.address() as net.AddressInfo).port;
}

async function peer(handshake = true, to = port): Promise<RawPeer> {
  const p = await RawPeer.connect(to, handshake);
  peers.push(p);
  return p;
}

const request = (...extra: string[]) => block(...REQUEST, ...GRPC, ...extra);
const hold = () => block(':method', 'POST', ':scheme', 'http', ':path', '/hold', ...GRPC);

beforeAll(async () => {
  server = new H2Server(
    (stream) => {
      served++;
      new Echo(stream);
    },
    undefined,
    h2Limits({ maxConcurrentStreams: 3 }),
  );
  port = await listen(server);
});
afterEach(() => {
  for (const p of peers.splice(0)) p.close();
});
afterAll(async () => {
  for (const c of server.connections) c.destroy('test over');
  await new Promise<void>((r) => server.server.close(() => r()));
});

describe('RFC 9113 §3.4 and §4: preface and frames', () => {
  it('§3.4: a wrong client preface is a PROTOCOL_ERROR', async () => {
    const p = await peer(false);
    p.send(Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n'));
    expect(await p.connectionError(E.PROTOCOL_ERROR)).toContain('preface');
  });

  it('§4.2: a frame over SETTINGS_MAX_FRAME_SIZE is a FRAME_SIZE_ERROR', async () => {
    const p = await peer();
    p.send(headers(1, request()), frame(T.DATA, 0, 1, Buffer.alloc(16_385)));
    await p.connectionError(E.FRAME_SIZE_ERROR);
  });

  it('§4.3: a header block that is not valid HPACK is a COMPRESSION_ERROR', async () => {
    const p = await peer();
    p.send(headers(1, Buffer.from([0x80]))); // index 0
    await p.connectionError(E.COMPRESSION_ERROR);
  });

  it('§5.5: frames of unknown types are ignored', async () => {
    const p = await peer();
    p.send(frame(0x20, 0xff, 0, Buffer.from('ignored')), frame(0x21, 0, 1));
    await p.alive();
  });
});

describe('RFC 9113 §5.1: stream states', () => {
  it.each([
    ['DATA', frame(T.DATA, 0, 1, Buffer.from('x'))],
    ['RST_STREAM', frame(T.RST_STREAM, 0, 1, u32(E.CANCEL))],
    ['WINDOW_UPDATE', frame(T.WINDOW_UPDATE, 0, 1, u32(100))],
    ['CONTINUATION', frame(T.CONTINUATION, F.END_HEADERS, 1, request())],
  ])('idle: %s is a connection PROTOCOL_ERROR', async (_name, bad) => {
    const p = await peer();
    p.send(bad);
    await p.connectionError(E.PROTOCOL_ERROR);
  });

  it.each([
    ['DATA', frame(T.DATA, 0, 1, Buffer.from('late'))],
    ['HEADERS', headers(1, block('x-trailer', '1'), F.END_HEADERS | F.END_STREAM)],
  ])('half-closed (remote): %s is a stream error STREAM_CLOSED', async (_name, late) => {
    const p = await peer();
    p.send(headers(1, hold(), F.END_HEADERS | F.END_STREAM)); // the server holds its side open
    await p.response(1);
    p.send(late);
    await p.streamError(1, E.STREAM_CLOSED);
  });

  it('closed: DATA after both sides ended is STREAM_CLOSED', async () => {
    const p = await peer();
    p.send(headers(1, request(), F.END_HEADERS | F.END_STREAM));
    await p.next((f) => f.type === T.HEADERS && f.id === 1 && (f.flags & F.END_STREAM) !== 0, 'the trailers');
    p.send(frame(T.DATA, 0, 1, Buffer.from('after the end')));
    await p.connectionError(E.STREAM_CLOSED);
  });

  it('closed: HEADERS after both sides ended is STREAM_CLOSED', async () => {
    const p = await peer();
    p.send(headers(1, request(), F.END_HEADERS | F.END_STREAM));
    await p.next((f) => f.type === T.HEADERS && f.id === 1 && (f.flags & F.END_STREAM) !== 0, 'the trailers');
    p.send(headers(1, block('x-trailer', '1'), F.END_HEADERS | F.END_STREAM));
    await p.connectionError(E.STREAM_CLOSED);
  });

  it('closed by our RST_STREAM: frames still in flight are ignored', async () => {
    const p = await peer();
    p.send(headers(1, request('X-Upper', 'case'))); // malformed: reset
    await p.streamError(1, E.PROTOCOL_ERROR);
    p.send(frame(T.DATA, 0, 1, Buffer.from('in flight')), frame(T.WINDOW_UPDATE, 0, 1, u32(10)));
    p.send(frame(T.RST_STREAM, 0, 1, u32(E.CANCEL)));
    await p.alive();
  });

  it('§5.1.1: an even stream id from a client is a PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(headers(2, request(), F.END_HEADERS | F.END_STREAM));
    await p.connectionError(E.PROTOCOL_ERROR);
  });

  it('§5.1.1: a stream id below one already opened is a PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(headers(5, request(), F.END_HEADERS | F.END_STREAM));
    await p.response(5);
    p.send(headers(3, request(), F.END_HEADERS | F.END_STREAM));
    await p.connectionError(E.PROTOCOL_ERROR);
  });

  it('§5.1.2: a stream past SETTINGS_MAX_CONCURRENT_STREAMS is refused (REFUSED_STREAM)', async () => {
    const p = await peer();
    for (const id of [1, 3, 5]) p.send(headers(id, hold())); // open, not ended: held
    p.send(headers(7, request()));
    await p.streamError(7, E.REFUSED_STREAM);
  });
});

describe('RFC 9113 §5.3 and §6.3: priority', () => {
  it('§5.3.1: HEADERS depending on its own stream is a stream PROTOCOL_ERROR', async () => {
    const p = await peer();
    const priority = Buffer.concat([u32(1), Buffer.from([16])]);
    p.send(headers(1, Buffer.concat([priority, request()]), F.END_HEADERS | F.PRIORITY | F.END_STREAM));
    await p.streamError(1, E.PROTOCOL_ERROR);
  });

  it('§5.3.1: PRIORITY depending on its own stream is a stream PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(frame(T.PRIORITY, 0, 3, Buffer.concat([u32(3), Buffer.from([16])])));
    await p.streamError(3, E.PROTOCOL_ERROR);
  });

  it('§6.3: PRIORITY on stream 0 is a PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(frame(T.PRIORITY, 0, 0, Buffer.concat([u32(1), Buffer.from([16])])));
    await p.connectionError(E.PROTOCOL_ERROR);
  });

  it('§6.3: PRIORITY of a length other than 5 is a stream FRAME_SIZE_ERROR', async () => {
    const p = await peer();
    p.send(frame(T.PRIORITY, 0, 1, u32(0)));
    await p.streamError(1, E.FRAME_SIZE_ERROR);
  });

  it('§5.3.2: PRIORITY on an idle stream is allowed', async () => {
    const p = await peer();
    p.send(frame(T.PRIORITY, 0, 9, Buffer.concat([u32(0), Buffer.from([16])])));
    await p.alive();
  });
});

describe('RFC 9113 §6.1, §6.2, §6.10: DATA, HEADERS, CONTINUATION', () => {
  it('§6.1: DATA on stream 0 is a PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(frame(T.DATA, 0, 0, Buffer.from('x')));
    await p.connectionError(E.PROTOCOL_ERROR);
  });

  it('§6.1: DATA padding as long as the frame is a PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(headers(1, request()), frame(T.DATA, F.PADDED, 1, Buffer.from([4, 1, 2, 3])));
    await p.connectionError(E.PROTOCOL_ERROR);
  });

  it('§6.2: HEADERS on stream 0 is a PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(headers(0, request()));
    await p.connectionError(E.PROTOCOL_ERROR);
  });

  it('§6.2: HEADERS padding longer than the frame is a PROTOCOL_ERROR', async () => {
    const p = await peer();
    const fields = request();
    p.send(headers(1, Buffer.concat([Buffer.from([fields.length + 1]), fields]), F.END_HEADERS | F.PADDED));
    await p.connectionError(E.PROTOCOL_ERROR);
  });

  it('§6.10: a frame other than CONTINUATION inside a header block is a PROTOCOL_ERROR', async () => {
    const p = await peer();
    const fields = request();
    p.send(headers(1, fields.subarray(0, 10), 0), frame(T.DATA, 0, 1, Buffer.from('x')));
    await p.connectionError(E.PROTOCOL_ERROR);
  });

  it('§6.10: CONTINUATION after END_HEADERS is a PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(headers(1, request()), frame(T.CONTINUATION, F.END_HEADERS, 1, block('x-more', '1')));
    await p.connectionError(E.PROTOCOL_ERROR);
  });

  it('§6.10: a header block split over CONTINUATION frames is one request', async () => {
    const p = await peer();
    const fields = request();
    p.send(
      headers(1, fields.subarray(0, 7), F.END_STREAM),
      frame(T.CONTINUATION, 0, 1, fields.subarray(7, 20)),
      frame(T.CONTINUATION, F.END_HEADERS, 1, fields.subarray(20)),
    );
    await p.response(1);
  });
});

describe('RFC 9113 §6.4, §6.7, §6.8: RST_STREAM, PING, GOAWAY', () => {
  it('§6.4: RST_STREAM on stream 0 is a PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(frame(T.RST_STREAM, 0, 0, u32(E.CANCEL)));
    await p.connectionError(E.PROTOCOL_ERROR);
  });

  it('§6.4: RST_STREAM of a length other than 4 is a FRAME_SIZE_ERROR', async () => {
    const p = await peer();
    p.send(headers(1, request()), frame(T.RST_STREAM, 0, 1, Buffer.from([0, 0, 8])));
    await p.connectionError(E.FRAME_SIZE_ERROR);
  });

  it('§6.7: PING is answered with the same payload; on a stream or of length 7 it is an error', async () => {
    const p = await peer();
    await p.alive();
    p.send(frame(T.PING, 0, 1, Buffer.alloc(8)));
    await p.connectionError(E.PROTOCOL_ERROR);
    const q = await peer();
    q.send(frame(T.PING, 0, 0, Buffer.alloc(7)));
    await q.connectionError(E.FRAME_SIZE_ERROR);
  });

  it('§6.8: GOAWAY on a stream is a PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(frame(T.GOAWAY, 0, 1, u32(0, 0)));
    await p.connectionError(E.PROTOCOL_ERROR);
  });

  it('§6.8: a graceful close says GOAWAY twice: 2^31-1 and a PING first, then the last stream taken', async () => {
    const drained = new H2Server((stream) => new Echo(stream));
    const drainPort = await listen(drained);
    try {
      const p = await peer(true, drainPort);
      p.send(headers(1, request(), F.END_HEADERS | F.END_STREAM));
      await p.response(1);
      for (const c of drained.connections) c.close();
      const first = await p.next((f) => f.type === T.GOAWAY, 'the first GOAWAY');
      expect(first.payload.readUInt32BE(0) & 0x7fffffff).toBe(0x7fffffff);
      const ping = await p.next((f) => f.type === T.PING && (f.flags & F.ACK) === 0, 'the PING after it');
      // A request already on its way when the first GOAWAY left is still served.
      p.send(headers(3, request(), F.END_HEADERS | F.END_STREAM), frame(T.PING, F.ACK, 0, ping.payload));
      await p.response(3);
      const last = await p.next((f) => f.type === T.GOAWAY && f !== first, 'the second GOAWAY');
      expect(last.payload.readUInt32BE(0)).toBe(3);
      expect(errorOf(last)).toBe(E.NO_ERROR);
    } finally {
      for (const c of drained.connections) c.destroy('test over');
      await new Promise<void>((r) => drained.server.close(() => r()));
    }
  });
});

describe('RFC 9113 §6.5: SETTINGS', () => {
  it('settings are acknowledged; unknown ones ignored', async () => {
    const p = await peer();
    p.send(settings([0x99, 7], [4, 100_000]));
    await p.next((f) => f.type === T.SETTINGS && (f.flags & F.ACK) !== 0, 'SETTINGS ACK');
    await p.alive();
  });

  it.each([
    ['an ACK with a payload', frame(T.SETTINGS, F.ACK, 0, Buffer.alloc(6)), E.FRAME_SIZE_ERROR],
    ['on a stream', frame(T.SETTINGS, 0, 1, Buffer.alloc(0)), E.PROTOCOL_ERROR],
    ['a length not a multiple of 6', frame(T.SETTINGS, 0, 0, Buffer.alloc(5)), E.FRAME_SIZE_ERROR],
    ['§6.5.2 ENABLE_PUSH 2', settings([2, 2]), E.PROTOCOL_ERROR],
    ['§6.5.2 INITIAL_WINDOW_SIZE 2^31', settings([4, 2 ** 31]), E.FLOW_CONTROL_ERROR],
    ['§6.5.2 MAX_FRAME_SIZE 16383', settings([5, 16_383]), E.PROTOCOL_ERROR],
    ['§6.5.2 MAX_FRAME_SIZE 2^24', settings([5, 2 ** 24]), E.PROTOCOL_ERROR],
  ])('SETTINGS %s is an error', async (_name, bad, code) => {
    const p = await peer();
    p.send(bad);
    await p.connectionError(code);
  });
});

describe('RFC 9113 §6.9: WINDOW_UPDATE and flow control', () => {
  it('an increment of 0: on the connection a PROTOCOL_ERROR, on a stream a stream error', async () => {
    const p = await peer();
    p.send(headers(1, request()), frame(T.WINDOW_UPDATE, 0, 1, u32(0)));
    await p.streamError(1, E.PROTOCOL_ERROR);
    p.send(frame(T.WINDOW_UPDATE, 0, 0, u32(0)));
    await p.connectionError(E.PROTOCOL_ERROR);
  });

  it('a length other than 4 is a FRAME_SIZE_ERROR', async () => {
    const p = await peer();
    p.send(frame(T.WINDOW_UPDATE, 0, 0, Buffer.from([0, 0, 1])));
    await p.connectionError(E.FRAME_SIZE_ERROR);
  });

  it('§6.9.1: a window grown past 2^31-1: the stream is reset, the connection closed (FLOW_CONTROL_ERROR)', async () => {
    const p = await peer();
    p.send(headers(1, request()), frame(T.WINDOW_UPDATE, 0, 1, u32(0x7fffffff)));
    await p.streamError(1, E.FLOW_CONTROL_ERROR);
    p.send(frame(T.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)));
    await p.connectionError(E.FLOW_CONTROL_ERROR);
  });

  it('§6.9.2: INITIAL_WINDOW_SIZE that takes an open stream past 2^31-1 is a FLOW_CONTROL_ERROR', async () => {
    const p = await peer();
    p.send(headers(1, request()), frame(T.WINDOW_UPDATE, 0, 1, u32(0x7fffffff - 65_535)));
    await p.alive();
    p.send(settings([4, 65_536]));
    await p.connectionError(E.FLOW_CONTROL_ERROR);
  });
});

describe('RFC 9113 §8: HTTP message exchanges (malformed requests never reach the handler)', () => {
  const malformed: [string, Buffer][] = [
    ['§8.2: an uppercase header name', request('X-Upper', '1')],
    ['§8.2.1: a NUL in a value', request('x-v', 'a\0b')],
    ['§8.2.1: a CR or LF in a value', request('x-v', 'a\r\nx-injected: 1')],
    ['§8.2.1: white space around a value', request('x-v', ' padded')],
    ['§8.2.2: a connection-specific header', request('connection', 'keep-alive')],
    ['§8.2.2: te other than trailers', block(...REQUEST, 'te', 'gzip')],
    ['§8.3.1: no :method', block(':scheme', 'http', ':path', '/x')],
    ['§8.3.1: no :scheme', block(':method', 'POST', ':path', '/x')],
    ['§8.3.1: no :path', block(':method', 'POST', ':scheme', 'http')],
    ['§8.3.1: an empty :path', block(':method', 'POST', ':scheme', 'http', ':path', '')],
    ['§8.3.1: :method twice', block(...REQUEST, ':method', 'GET')],
    ['§8.3.1: :scheme twice', block(...REQUEST, ':scheme', 'https')],
    ['§8.3.1: :path twice', block(...REQUEST, ':path', '/other')],
    ['§8.3: an unknown pseudo-header', block(...REQUEST, ':protocol', 'x')],
    ['§8.3: a response pseudo-header in a request', block(...REQUEST, ':status', '200')],
    [
      '§8.3: a pseudo-header after a regular one',
      block(':method', 'POST', 'x-a', '1', ':scheme', 'http', ':path', '/'),
    ],
    ['§8.1.1: content-length twice', request('content-length', '1', 'content-length', '1')],
  ];
  it.each(malformed)('%s: RST_STREAM PROTOCOL_ERROR', async (_name, fields) => {
    const before = served;
    const p = await peer();
    p.send(headers(1, fields, F.END_HEADERS | F.END_STREAM));
    await p.streamError(1, E.PROTOCOL_ERROR);
    expect(served).toBe(before);
  });

  it('§8.1: a second HEADERS without END_STREAM is a stream PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(headers(1, request()), headers(1, block('x-trailer', '1')));
    await p.streamError(1, E.PROTOCOL_ERROR);
  });

  it('§8.1: pseudo-headers in trailers are a stream PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(headers(1, request()), headers(1, block(':path', '/x'), F.END_HEADERS | F.END_STREAM));
    await p.streamError(1, E.PROTOCOL_ERROR);
  });

  it('§8.1.1: more DATA than content-length is a stream PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(headers(1, request('content-length', '3')), frame(T.DATA, F.END_STREAM, 1, Buffer.from('four')));
    await p.streamError(1, E.PROTOCOL_ERROR);
  });

  it('§8.1.1: less DATA than content-length, then END_STREAM, is a stream PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(headers(1, request('content-length', '10')), frame(T.DATA, F.END_STREAM, 1, Buffer.from('four')));
    await p.streamError(1, E.PROTOCOL_ERROR);
  });

  it('§8.1.1: content-length with END_STREAM on the HEADERS and no DATA is a stream PROTOCOL_ERROR', async () => {
    const p = await peer();
    p.send(headers(1, request('content-length', '2'), F.END_HEADERS | F.END_STREAM));
    await p.streamError(1, E.PROTOCOL_ERROR);
  });

  it('§8.1.1: DATA that adds up to content-length is served', async () => {
    const p = await peer();
    p.send(headers(1, request('content-length', '4')), frame(T.DATA, F.END_STREAM, 1, Buffer.from('four')));
    await p.response(1);
    const data = await p.next((f) => f.type === T.DATA && f.id === 1, 'the echo');
    expect(data.payload.toString()).toBe('four');
  });
});

describe('RFC 7541: HPACK', () => {
  it('§4.2 and §6.3: a table size update past SETTINGS_HEADER_TABLE_SIZE is a COMPRESSION_ERROR', async () => {
    const p = await peer();
    p.send(headers(1, Buffer.concat([sizeUpdate(4097), request()]), F.END_HEADERS | F.END_STREAM));
    await p.connectionError(E.COMPRESSION_ERROR);
  });

  it('§4.2: a table size update after a field is a COMPRESSION_ERROR', async () => {
    const p = await peer();
    p.send(headers(1, Buffer.concat([request(), sizeUpdate(0)]), F.END_HEADERS | F.END_STREAM));
    await p.connectionError(E.COMPRESSION_ERROR);
  });

  it('§4.2: two size updates at the start of a block are accepted', async () => {
    const p = await peer();
    p.send(
      headers(1, Buffer.concat([sizeUpdate(0), sizeUpdate(4096), request()]), F.END_HEADERS | F.END_STREAM),
    );
    await p.response(1);
  });

  it('the server advertises its header table size and list size, and its preface comes first', async () => {
    const p = await peer(false);
    p.send(PREFACE, frame(T.SETTINGS, 0, 0));
    const s = await p.next((f) => f.type === T.SETTINGS && (f.flags & F.ACK) === 0, 'SETTINGS');
    expect(p.frames[0]).toBe(s);
    const values = new Map<number, number>();
    for (let i = 0; i < s.payload.length; i += 6)
      values.set(s.payload.readUInt16BE(i), s.payload.readUInt32BE(i + 2));
    expect(values.get(1)).toBe(4096);
    expect(values.get(6)).toBe(64 * 1024);
    expect(values.get(3)).toBe(3);
  });
});
