/**
 * An experiment, not a router: how much does forwarding gRPC at the HTTP/2 frame level cost, below
 * node:http2's per-stream objects? Client connections are served by our own framing: request headers are
 * decoded (as a router must, to route) and re-encoded for one shared upstream connection, DATA frames go
 * through with their stream id rewritten, response headers and trailers come back re-encoded. HPACK by
 * hpack.js. Left out, because the benchmark does not need them: flow-control accounting (huge windows are
 * granted up front), CONTINUATION frames, priorities, more than one upstream. Usage: frame-relay.mjs
 * <upstream host:port>; prints its port.
 */
import { Buffer } from 'node:buffer';
import console from 'node:console';
import * as net from 'node:net';
import process from 'node:process';
import hpack from 'hpack.js';

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
const [DATA, HEADERS, RST_STREAM, SETTINGS, PING, GOAWAY, WINDOW_UPDATE] = [0, 1, 3, 4, 6, 7, 8];
const END_STREAM = 0x1;
const END_HEADERS = 0x4;
const PADDED = 0x8;
const PRIORITY = 0x20;
const ACK = 0x1;
const BIG_WINDOW = 0x7fffffff;

function frame(type, flags, streamId, payload) {
  const f = Buffer.allocUnsafe(9 + payload.length);
  f.writeUIntBE(payload.length, 0, 3);
  f[3] = type;
  f[4] = flags;
  f.writeUInt32BE(streamId, 5);
  payload.copy(f, 9);
  return f;
}

/** Our SETTINGS (initial window as large as allowed) and a connection window to match. */
function greeting() {
  const settings = Buffer.alloc(6);
  settings.writeUInt16BE(0x4, 0);
  settings.writeUInt32BE(BIG_WINDOW, 2);
  const increment = Buffer.alloc(4);
  increment.writeUInt32BE(BIG_WINDOW - 65535, 0);
  return Buffer.concat([frame(SETTINGS, 0, 0, settings), frame(WINDOW_UPDATE, 0, 0, increment)]);
}

/** Splits a byte stream into frames; calls onFrame(type, flags, streamId, payload, raw). */
function framer(onFrame, skip = 0) {
  let buf = Buffer.alloc(0);
  let toSkip = skip;
  return (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    if (toSkip > 0) {
      const n = Math.min(toSkip, buf.length);
      buf = buf.subarray(n);
      toSkip -= n;
    }
    while (buf.length >= 9) {
      const length = buf.readUIntBE(0, 3);
      if (buf.length < 9 + length) break;
      const raw = buf.subarray(0, 9 + length);
      onFrame(raw[3], raw[4], raw.readUInt32BE(5) & 0x7fffffff, raw.subarray(9), raw);
      buf = buf.subarray(9 + length);
    }
  };
}

function headerBlock(flags, payload) {
  let start = 0;
  let end = payload.length;
  if (flags & PADDED) {
    end -= payload[0];
    start = 1;
  }
  if (flags & PRIORITY) start += 5;
  return payload.subarray(start, end);
}

function decode(decompressor, block) {
  decompressor.write(block);
  decompressor.execute();
  const headers = [];
  for (let h = decompressor.read(); h; h = decompressor.read())
    headers.push({ name: h.name, value: h.value });
  return headers;
}

function encode(compressor, headers) {
  compressor.write(headers);
  return compressor.read();
}

const table = { table: { size: 4096 } };
const [host, port] = process.argv[2].split(':');

/** The one upstream connection: streams by id map back to a client connection and its stream id. */
const up = net.connect(Number(port), host);
up.setNoDelay(true);
const upCompressor = hpack.compressor.create(table);
const upDecompressor = hpack.decompressor.create(table);
const routes = new Map(); // upstream stream id -> { client, id }
let nextUpId = 1;
up.write(Buffer.concat([PREFACE, greeting()]));
up.on(
  'data',
  framer((type, flags, id, payload, raw) => {
    if (type === SETTINGS) {
      if (!(flags & ACK)) up.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
      return;
    }
    if (type === PING) {
      if (!(flags & ACK)) up.write(frame(PING, ACK, 0, payload));
      return;
    }
    const route = routes.get(id);
    if (!route) return;
    if (type === HEADERS) {
      const headers = decode(upDecompressor, headerBlock(flags, payload));
      const block = encode(route.client.compressor, headers);
      route.client.socket.write(frame(HEADERS, END_HEADERS | (flags & END_STREAM), route.id, block));
    } else if (type === DATA) {
      raw.writeUInt32BE(route.id, 5);
      route.client.socket.write(raw);
    } else if (type === RST_STREAM) {
      route.client.socket.write(frame(RST_STREAM, 0, route.id, payload));
    } else {
      return;
    }
    if (flags & END_STREAM || type === RST_STREAM) routes.delete(id);
  }),
);
up.on('error', (err) => {
  console.error(`upstream: ${err.message}`);
  process.exit(1);
});

const server = net.createServer((socket) => {
  socket.setNoDelay(true);
  const client = {
    socket,
    compressor: hpack.compressor.create(table),
    decompressor: hpack.decompressor.create(table),
    toUp: new Map(), // client stream id -> upstream stream id
  };
  socket.write(greeting());
  socket.on(
    'data',
    framer((type, flags, id, payload, raw) => {
      if (type === SETTINGS) {
        if (!(flags & ACK)) socket.write(frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
      } else if (type === PING) {
        if (!(flags & ACK)) socket.write(frame(PING, ACK, 0, payload));
      } else if (type === HEADERS) {
        // A router reads these to route (x-nerve-engine, :authority, :path); here there is one upstream.
        const headers = decode(client.decompressor, headerBlock(flags, payload));
        const upId = nextUpId;
        nextUpId += 2;
        client.toUp.set(id, upId);
        routes.set(upId, { client, id });
        up.write(frame(HEADERS, END_HEADERS | (flags & END_STREAM), upId, encode(upCompressor, headers)));
      } else if (type === DATA) {
        const upId = client.toUp.get(id);
        if (upId === undefined) return;
        raw.writeUInt32BE(upId, 5);
        up.write(raw);
        if (flags & END_STREAM) client.toUp.delete(id);
      } else if (type === RST_STREAM) {
        const upId = client.toUp.get(id);
        if (upId !== undefined) up.write(frame(RST_STREAM, 0, upId, payload));
      } else if (type === GOAWAY) {
        socket.end();
      }
    }, PREFACE.length),
  );
  socket.on('error', () => undefined);
});
server.listen(0, '127.0.0.1', () => console.log(`frame relay on ${server.address().port}`));
