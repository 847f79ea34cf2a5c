import * as net from 'node:net';
import { waitFor } from './wait';

/**
 * A raw HTTP/2 peer for conformance tests: writes frames byte by byte as a test spells them (right or
 * wrong), and reads the server's frames with a parser of its own. Header blocks use literal fields
 * without indexing or Huffman (RFC 7541 §6.2.2), so no HPACK code of the router takes part on this side.
 */

export const T = {
  DATA: 0,
  HEADERS: 1,
  PRIORITY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PUSH_PROMISE: 5,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
} as const;
export const F = { END_STREAM: 0x1, ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;
export const E = {
  NO_ERROR: 0,
  PROTOCOL_ERROR: 1,
  INTERNAL_ERROR: 2,
  FLOW_CONTROL_ERROR: 3,
  STREAM_CLOSED: 5,
  FRAME_SIZE_ERROR: 6,
  REFUSED_STREAM: 7,
  CANCEL: 8,
  COMPRESSION_ERROR: 9,
  ENHANCE_YOUR_CALM: 11,
} as const;

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly id: number;
  readonly payload: Buffer;
}

export function frame(type: number, flags: number, id: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(id >>> 0, 5);
  return Buffer.concat([head, payload]);
}

export function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

export function settings(...pairs: [number, number][]): Buffer {
  const b = Buffer.alloc(6 * pairs.length);
  pairs.forEach(([id, v], i) => {
    b.writeUInt16BE(id, 6 * i);
    b.writeUInt32BE(v >>> 0, 6 * i + 2);
  });
  return frame(T.SETTINGS, 0, 0, b);
}

/** An HPACK integer with an N-bit prefix (RFC 7541 §5.1). */
function integer(prefixBits: number, first: number, value: number): number[] {
  const max = (1 << prefixBits) - 1;
  if (value < max) return [first | value];
  const out = [first | max];
  value -= max;
  while (value >= 128) {
    out.push((value % 128) + 128);
    value = Math.floor(value / 128);
  }
  out.push(value);
  return out;
}

/** Literal header fields without indexing, new names, no Huffman: pairs [name, value, …]. */
export function block(...fields: string[]): Buffer {
  const out: number[] = [];
  for (let i = 0; i < fields.length; i += 2) {
    const name = Buffer.from(fields[i], 'latin1');
    const value = Buffer.from(fields[i + 1], 'latin1');
    out.push(0x00, ...integer(7, 0, name.length), ...name, ...integer(7, 0, value.length), ...value);
  }
  return Buffer.from(out);
}

/** A literal with incremental indexing (it enters the peer's dynamic table), new name. */
export function indexedLiteral(name: string, value: string): Buffer {
  const n = Buffer.from(name, 'latin1');
  const v = Buffer.from(value, 'latin1');
  return Buffer.from([0x40, ...integer(7, 0, n.length), ...n, ...integer(7, 0, v.length), ...v]);
}

/** An indexed field (RFC 7541 §6.1): 62 is the newest dynamic entry. */
export function indexed(index: number): Buffer {
  return Buffer.from(integer(7, 0x80, index));
}

/** A dynamic table size update (RFC 7541 §6.3). */
export function sizeUpdate(size: number): Buffer {
  return Buffer.from(integer(5, 0x20, size));
}

export const REQUEST = [':method', 'POST', ':scheme', 'http', ':path', '/x.Y/Z', ':authority', 'test'];
export const GRPC = ['content-type', 'application/grpc', 'te', 'trailers'];

export function headers(id: number, fields: Buffer, flags: number = F.END_HEADERS): Buffer {
  return frame(T.HEADERS, flags, id, fields);
}

export class RawPeer {
  readonly frames: Frame[] = [];
  closed = false;
  bytesSent = 0;
  private buffered = Buffer.alloc(0);

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  /** Connects; `handshake`: the preface and an empty SETTINGS first. */
  static async connect(port: number, handshake = true): Promise<RawPeer> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const peer = new RawPeer(socket);
    if (handshake) {
      peer.send(PREFACE, frame(T.SETTINGS, 0, 0));
      await peer.next((f) => f.type === T.SETTINGS && (f.flags & F.ACK) === 0, 'the server SETTINGS');
    }
    return peer;
  }

  send(...parts: Buffer[]): void {
    const all = Buffer.concat(parts);
    this.bytesSent += all.length;
    if (!this.socket.destroyed) this.socket.write(all);
  }

  /** The first frame received matching `match` (already or later). */
  async next(match: (f: Frame) => boolean, what: string, timeoutMs = 5_000): Promise<Frame> {
    let found: Frame | undefined;
    await waitFor(
      () => (found = this.frames.find(match)) !== undefined,
      `${what}; got ${this.describe()}`,
      timeoutMs,
    );
    return found!;
  }

  /** GOAWAY with `code`, then the connection closes (RFC 9113 §5.4.1). */
  async connectionError(code: number): Promise<string> {
    const goaway = await this.next((f) => f.type === T.GOAWAY && f.payload.readUInt32BE(4) !== 0, `a GOAWAY`);
    expect(errorOf(goaway)).toBe(code);
    await waitFor(() => this.closed, 'the connection closed after GOAWAY');
    return goaway.payload.subarray(8).toString();
  }

  /** RST_STREAM with `code` on stream `id` (RFC 9113 §5.4.2); the connection stays open. */
  async streamError(id: number, code: number): Promise<void> {
    const rst = await this.next(
      (f) => (f.type === T.RST_STREAM && f.id === id) || f.type === T.GOAWAY,
      `RST_STREAM on ${id}`,
    );
    expect({ type: rst.type, code: rst.payload.readUInt32BE(rst.type === T.GOAWAY ? 4 : 0) }).toEqual({
      type: T.RST_STREAM,
      code,
    });
    await this.alive();
  }

  /** The connection still answers: a PING comes back. */
  async alive(): Promise<void> {
    const data = Buffer.from(`alive${this.frames.length}`.padEnd(8, '.').slice(0, 8));
    this.send(frame(T.PING, 0, 0, data));
    await this.next(
      (f) => f.type === T.PING && (f.flags & F.ACK) !== 0 && f.payload.equals(data),
      'a PING ACK',
    );
    expect(this.closed).toBe(false);
  }

  /** A response HEADERS on stream `id`. */
  async response(id: number): Promise<Frame> {
    return this.next((f) => f.type === T.HEADERS && f.id === id, `response HEADERS on ${id}`);
  }

  close(): void {
    this.socket.destroy();
  }

  describe(): string {
    return this.frames
      .map(
        (f) =>
          `${f.type}/${f.flags}/${f.id}${f.type === T.GOAWAY || f.type === T.RST_STREAM ? `:${errorOf(f)}` : ''}`,
      )
      .slice(-12)
      .join(' ')
      .concat(this.closed ? ' (closed)' : '');
  }

  private onData(d: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, d]);
    while (this.buffered.length >= 9) {
      const length = this.buffered.readUIntBE(0, 3);
      if (this.buffered.length < 9 + length) break;
      this.frames.push({
        type: this.buffered[3],
        flags: this.buffered[4],
        id: this.buffered.readUInt32BE(5) & 0x7fffffff,
        payload: Buffer.from(this.buffered.subarray(9, 9 + length)),
      });
      this.buffered = this.buffered.subarray(9 + length);
    }
  }
}

/** The error code of a GOAWAY or RST_STREAM frame. */
export function errorOf(f: Frame): number {
  return f.payload.readUInt32BE(f.type === T.GOAWAY ? 4 : 0);
}
