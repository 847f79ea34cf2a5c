/**
 * Simulated data planes: N state-of-the-world ADS streams (wildcard EngineCluster subscription, as a Nerve
 * router), each on a TCP connection of its own (or `perConnection` to a connection, where the machine's
 * open-file limit allows fewer connections than streams) from `localAddress` (one per process, so a run
 * is not bounded by one address's ephemeral ports), each ACKing every response at once. The client side is
 * our own HTTP/2 layer and the router's hand codec: a few KB per connection, so several of these
 * processes hold tens of thousands without being what is measured.
 * IPC: {cmd:"connect", count, perBatch, spreadMs} → {connected, firstConfigMs: ms from the command to each
 * stream's first response} (perBatch: a batch once the last holds its configuration; spreadMs: evenly
 * over that time, answered or not); {cmd:"watch"}, then once every stream got a newer version → {acks: epoch ms per stream}.
 */
import * as net from 'node:net';
import { H2ClientConnection } from '../../src/protocol/h2/client';
import { DEFAULT_LIMITS } from '../../src/protocol/h2/limits';
import { readChunks } from '../../src/protocol/h2/socket-reads';
import type { H2Stream, StreamHandler } from '../../src/protocol/h2/stream';
import { decodeDiscoveryResponse, encodeDiscoveryRequest } from '../../src/router/xds/ads-codec';
import { ADS_SERVICE } from '../../src/protocol/ads-types';
import { ENGINE_CLUSTER_TYPE } from '../../src/protocol/type-urls';

const [portText, localAddress, name, perConnectionText] = process.argv.slice(2);
const port = Number(portText);
/** Streams per connection: 1 unless the run needs more streams than the machine allows open files. */
const perConnection = Number(perConnectionText ?? 1);
const shared: H2ClientConnection[] = [];
const now = () => performance.timeOrigin + performance.now();
const send = (m: object) => process.send!(m);
const HEADERS = [
  ':method',
  'POST',
  ':scheme',
  'http',
  ':path',
  `/${ADS_SERVICE}/StreamAggregatedResources`,
  ':authority',
  `127.0.0.1:${port}`,
  'content-type',
  'application/grpc',
  'te',
  'trailers',
];
const LIMITS = { ...DEFAULT_LIMITS, maxConnectionMemory: 1 << 20 };

function frame(bytes: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + bytes.length);
  out[0] = 0;
  out.writeUInt32BE(bytes.length, 1);
  out.set(bytes, 5);
  return out;
}

const planes: Plane[] = [];
let watching: { from: string[]; acks: number[]; remaining: number } | undefined;
let connecting: { at: number; first: number[]; remaining: number } | undefined;

class Plane implements StreamHandler {
  version = '';
  private parts: Buffer | undefined;
  private readonly stream: H2Stream;

  constructor(readonly index: number) {
    const slot = Math.floor(index / perConnection);
    let conn = shared[slot];
    if (conn === undefined) {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress, noDelay: true });
      let made: H2ClientConnection | undefined = undefined;
      readChunks(socket, () => made);
      made = new H2ClientConnection(socket, LIMITS);
      shared[slot] = conn = made;
    }
    this.stream = conn.request(HEADERS, undefined, this);
    this.stream.write(
      frame(
        encodeDiscoveryRequest({
          version_info: '',
          node: { id: `${name}-${index}`, cluster: 'bench' },
          resource_names: [],
          type_url: ENGINE_CLUSTER_TYPE,
          response_nonce: '',
          error_detail: null,
        }),
      ),
    );
  }

  onHeaders(_s: H2Stream, headers: readonly string[], endStream: boolean): void {
    if (endStream) send({ error: `stream ${this.index} ended: ${headers.join(' ')}` });
  }

  onData(_s: H2Stream, chunk: Buffer): void {
    let buf = this.parts ? Buffer.concat([this.parts, chunk]) : chunk;
    while (buf.length >= 5) {
      const length = buf.readUInt32BE(1);
      if (buf.length < 5 + length) break;
      this.onResponse(decodeDiscoveryResponse(buf.subarray(5, 5 + length)));
      buf = buf.subarray(5 + length);
    }
    this.parts = buf.length > 0 ? Buffer.from(buf) : undefined;
  }

  private onResponse(r: { version_info: string; type_url: string; nonce: string }): void {
    this.stream.write(
      frame(
        encodeDiscoveryRequest({
          version_info: r.version_info,
          node: null,
          resource_names: [],
          type_url: r.type_url,
          response_nonce: r.nonce,
          error_detail: null,
        }),
      ),
    );
    const first = this.version === '';
    this.version = r.version_info;
    const i = this.index;
    if (first && connecting && connecting.first[i] === 0) {
      connecting.first[i] = now() - connecting.at;
      if (--connecting.remaining === 0) {
        send({ connected: planes.length, firstConfigMs: connecting.first });
        connecting = undefined;
      }
    }
    if (watching && watching.acks[i] === 0 && r.version_info !== watching.from[i]) {
      watching.acks[i] = now();
      if (--watching.remaining === 0) {
        send({ acks: watching.acks });
        watching = undefined;
      }
    }
  }

  onEnd(): void {
    send({ error: `stream ${this.index} ended` });
  }

  onReset(_s: H2Stream, code: number, why: string): void {
    send({ error: `stream ${this.index} reset (${code}): ${why}` });
  }

  onDrain(): void {}
}

/** Opens `count` more streams, `perBatch` at a time (a batch once the previous one holds its config; 0: all at once). */
function connect(count: number, perBatch: number, spreadMs: number): void {
  const start = planes.length;
  connecting = { at: now(), first: new Array(start + count).fill(0), remaining: count };
  for (let i = 0; i < start; i++) connecting.first[i] = -1;
  let opened = 0;
  if (spreadMs > 0) {
    // Evenly over spreadMs, whatever the server answers (a fleet restarting, not a polite ramp).
    const slices = Math.max(1, Math.floor(spreadMs / 10));
    const each = Math.ceil(count / slices);
    const tick = () => {
      const until = Math.min(count, opened + each);
      for (; opened < until; opened++) planes.push(new Plane(start + opened));
      if (opened < count) setTimeout(tick, 10);
    };
    tick();
    return;
  }
  const batch = perBatch > 0 ? perBatch : count;
  const more = () => {
    const until = Math.min(count, opened + batch);
    for (; opened < until; opened++) planes.push(new Plane(start + opened));
    if (opened < count) {
      const wait = () => {
        if (connecting && connecting.remaining > count - opened) setTimeout(wait, 5);
        else more();
      };
      wait();
    }
  };
  more();
}

process.on('message', (msg: { cmd: string; count?: number; perBatch?: number; spreadMs?: number }) => {
  if (msg.cmd === 'connect') connect(msg.count!, msg.perBatch ?? 0, msg.spreadMs ?? 0);
  else if (msg.cmd === 'watch')
    watching = {
      from: planes.map((p) => p.version),
      acks: new Array(planes.length).fill(0),
      remaining: planes.length,
    };
});
send({ up: true });
