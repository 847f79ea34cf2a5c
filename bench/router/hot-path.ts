/**
 * npm run bench:router-hot-path — the JavaScript a routed unary call costs in the router, without the
 * kernel and without other processes: the ingress, the routing, ForwardedCall, the upstream pool's
 * connection and both HTTP/2 connections run in this process on in-memory sockets; a scripted client and
 * engine feed them the frames of a gRPC call (request HEADERS and DATA; response HEADERS, DATA and
 * trailers, each in a read of its own) and the router's writes are taken as they leave. Baseline in the
 * same run: the frames alone through our framing, each payload copied to the other side (what any HTTP/2
 * proxy on this layer does at least). Medians of BENCH_ROUNDS (default 5) of BENCH_CALLS (default 50,000).
 *
 * Caches are warm here: on a machine where other processes run between calls, each call costs more (the
 * full bench, bench:router, measures that).
 */
import { EventEmitter } from 'node:events';
import type * as net from 'node:net';
import { join } from 'node:path';
import type * as Resources from '../../gen/nerve/discovery/v1/resources';
import type * as Policy from '../../src/model/policy';
import type * as Logging from '../../src/observability/logger';
import type * as Client from '../../src/protocol/h2/client';
import type * as Reader from '../../src/protocol/h2/frame-reader';
import type * as Frames from '../../src/protocol/h2/frames';
import type * as Decoder from '../../src/protocol/h2/hpack/decoder';
import type * as Encoder from '../../src/protocol/h2/hpack/encoder';
import type * as Server from '../../src/protocol/h2/server';
import type { H2Stream } from '../../src/protocol/h2/stream';
import type * as IngressModule from '../../src/router/proxy/ingress';
import type * as TracerModule from '../../src/router/tracing/call-tracer';
import type * as Pool from '../../src/router/proxy/upstream-pool';
import type * as Routing from '../../src/router/proxy/routing-state';

/**
 * The router as it runs: tsc's output in dist/ (npm run build), not this script's loader's compilation
 * of src/, whose module getters would add their own cost to every imported name.
 */
const DIST = join(__dirname, '..', '..', 'dist');
const fromDist = async <T>(module: string): Promise<T> => (await import(join(DIST, module))) as T;
let EngineCluster: typeof Resources.EngineCluster;
let HealthStatus: typeof Resources.HealthStatus;
let defaultPolicy: typeof Policy.defaultPolicy;
let createLogger: typeof Logging.createLogger;
let H2ClientConnection: typeof Client.H2ClientConnection;
let FrameReader: typeof Reader.FrameReader;
let Flag: typeof Frames.Flag;
let FrameType: typeof Frames.FrameType;
let PREFACE: typeof Frames.PREFACE;
let frame: typeof Frames.frame;
let settingsFrame: typeof Frames.settingsFrame;
let windowUpdateFrame: typeof Frames.windowUpdateFrame;
let writeFrameHeader: typeof Frames.writeFrameHeader;
let HpackDecoder: typeof Decoder.HpackDecoder;
let HpackEncoder: typeof Encoder.HpackEncoder;
let H2ServerConnection: typeof Server.H2ServerConnection;
let Ingress: typeof IngressModule.Ingress;
let CallTracer: typeof TracerModule.CallTracer;
let UpstreamPool: typeof Pool.UpstreamPool;
let RoutingState: typeof Routing.RoutingState;

async function load(): Promise<void> {
  ({ EngineCluster, HealthStatus } = await fromDist<typeof Resources>('gen/nerve/discovery/v1/resources.js'));
  ({ defaultPolicy } = await fromDist<typeof Policy>('src/model/policy.js'));
  ({ createLogger } = await fromDist<typeof Logging>('src/observability/logger.js'));
  ({ H2ClientConnection } = await fromDist<typeof Client>('src/protocol/h2/client.js'));
  ({ FrameReader } = await fromDist<typeof Reader>('src/protocol/h2/frame-reader.js'));
  ({ Flag, FrameType, PREFACE, frame, settingsFrame, windowUpdateFrame, writeFrameHeader } =
    await fromDist<typeof Frames>('src/protocol/h2/frames.js'));
  ({ HpackDecoder } = await fromDist<typeof Decoder>('src/protocol/h2/hpack/decoder.js'));
  ({ HpackEncoder } = await fromDist<typeof Encoder>('src/protocol/h2/hpack/encoder.js'));
  ({ H2ServerConnection } = await fromDist<typeof Server>('src/protocol/h2/server.js'));
  ({ Ingress } = await fromDist<typeof IngressModule>('src/router/proxy/ingress.js'));
  ({ CallTracer } = await fromDist<typeof TracerModule>('src/router/tracing/call-tracer.js'));
  ({ UpstreamPool } = await fromDist<typeof Pool>('src/router/proxy/upstream-pool.js'));
  ({ RoutingState } = await fromDist<typeof Routing>('src/router/proxy/routing-state.js'));
}

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const CALLS = Number(process.env.BENCH_CALLS ?? 50_000);
const ENGINE_ADDRESS = '10.0.0.1:50051';
/**
 * BENCH_STRATEGY (default round_robin) and BENCH_INSTANCES (default 1): a balancer's cost per call, by
 * difference (every instance's connection is the same in-memory engine).
 */
const STRATEGY = process.env.BENCH_STRATEGY ?? 'round_robin';
const INSTANCES = Number(process.env.BENCH_INSTANCES ?? 1);
/** BENCH_NO_TRACER=1: the ingress without trace context (what it costs, by difference). */
const NO_TRACER = Boolean(process.env.BENCH_NO_TRACER);

/** A socket in memory: what the connection writes is handed to `sink` as it leaves. */
class MemorySocket extends EventEmitter {
  destroyed = false;
  connecting = false;
  writableLength = 0;
  constructor(private readonly sink: (chunk: Buffer) => void) {
    super();
  }
  setNoDelay(): this {
    return this;
  }
  unref(): this {
    return this;
  }
  cork(): void {}
  uncork(): void {}
  write(chunk: Buffer): boolean {
    this.sink(chunk);
    return true;
  }
  end(): void {}
  destroy(): void {
    this.destroyed = true;
  }
}
const asSocket = (s: MemorySocket) => s as unknown as net.Socket;

/** Stream id of the first frame in `chunk` (after the client preface, if there) of type `type`, or 0. */
function streamIdOf(chunk: Buffer, type: number): number {
  const start = chunk.subarray(0, PREFACE.length).equals(PREFACE) ? PREFACE.length : 0;
  for (let at = start; at + 9 <= chunk.length; at += 9 + chunk.readUIntBE(at, 3))
    if (chunk[at + 3] === type) return chunk.readUInt32BE(at + 5) & 0x7fffffff;
  return 0;
}

function headersFrame(encoder: Encoder.HpackEncoder, id: number, headers: string[], end: boolean): Buffer {
  const block = Buffer.from(encoder.encode(headers, undefined, undefined, 9));
  writeFrameHeader(
    block,
    0,
    block.length - 9,
    FrameType.HEADERS,
    Flag.END_HEADERS | (end ? Flag.END_STREAM : 0),
    id,
  );
  return block;
}

const MESSAGE = Buffer.from([0, 0, 0, 0, 12, 10, 4, 101, 99, 104, 111, 18, 4, 112, 105, 110, 103]);
const tick = () => new Promise<void>((resolve) => process.nextTick(resolve));

/** The router's path: `CALLS` calls through ingress, ForwardedCall and both connections; ns per call. */
async function routed(): Promise<number> {
  const logger = createLogger('bench', 'error');
  const state = new RoutingState();
  state.applyClusters([
    EngineCluster.fromPartial({
      name: 'echo',
      versions: [{ name: 'v1', weight: 100 }],
      endpoints: Array.from({ length: INSTANCES }, (_, i) => ({
        id: `echo-${i + 1}`,
        address: i === 0 ? ENGINE_ADDRESS : `10.0.0.${i + 1}:50051`,
        version: 'v1',
        weight: 100,
        health: HealthStatus.HEALTH_STATUS_HEALTHY,
      })),
      policy: { ...defaultPolicy(), strategy: STRATEGY },
    }),
  ]);
  let upstreamId = 0;
  // The caller's side decodes what the router answers: only calls ending in grpc-status 0 count.
  let answered = 0;
  const decoder = new HpackDecoder();
  const caller = new FrameReader((type, flags, _id, buf, start, end) => {
    if (type !== FrameType.HEADERS) return;
    const headers = decoder.decode(buf, start, end);
    if (flags & Flag.END_STREAM && headers[headers.indexOf('grpc-status') + 1] === '0') answered++;
  }, 1 << 20);
  const upstream: Client.H2ClientConnection = new H2ClientConnection(
    asSocket(
      new MemorySocket((chunk) => {
        const id = streamIdOf(chunk, FrameType.HEADERS);
        if (id !== 0) upstreamId = id;
      }),
    ),
  );
  const pool = new (class extends UpstreamPool {
    override connection(): Client.H2ClientConnection {
      return upstream;
    }
  })(logger);
  // As the Router makes it: a traceparent made for every call that comes without one (unsampled).
  const tracer = NO_TRACER ? undefined : new CallTracer(() => undefined, { sampleRatio: 0 });
  const ingress = new Ingress(state, pool, logger, undefined, undefined, tracer);
  const onStream = (stream: H2Stream) =>
    (ingress as unknown as { onStream(s: H2Stream): void }).onStream(stream);
  const downstream = new H2ServerConnection(
    asSocket(new MemorySocket((chunk) => caller.push(chunk))),
    onStream,
  );
  // Both peers open their connection windows all the way (2^31 - 1) at once: no WINDOW_UPDATE per call.
  const wide = windowUpdateFrame(0, 0x7fffffff - 65_535);
  downstream.onBytes(Buffer.concat([PREFACE, settingsFrame([]), wide]));
  upstream.onBytes(Buffer.concat([settingsFrame([]), wide]));
  const client = new HpackEncoder();
  const engine = new HpackEncoder();
  const request = [
    ':method',
    'POST',
    ':scheme',
    'http',
    ':path',
    '/nerve.engine.v1.Engine/Invoke',
    ':authority',
    '127.0.0.1:8080',
    'content-type',
    'application/grpc',
    'te',
    'trailers',
    'grpc-accept-encoding',
    'identity,deflate,gzip',
    'user-agent',
    'grpc-node-js/1.14.7',
    'x-nerve-engine',
    'echo',
  ];
  const response = [
    ':status',
    '200',
    'content-type',
    'application/grpc',
    'grpc-accept-encoding',
    'identity,deflate,gzip',
  ];
  const trailers = ['grpc-status', '0', 'grpc-message', ''];
  const body = frame(FrameType.DATA, Flag.END_STREAM, 0, MESSAGE);
  let id = 1;
  const run = async (n: number) => {
    for (let i = 0; i < n; i++, id += 2) {
      body.writeUInt32BE(id, 5);
      downstream.onBytes(Buffer.concat([headersFrame(client, id, request, false), body]));
      await tick();
      const up = upstreamId;
      upstream.onBytes(headersFrame(engine, up, response, false));
      const data = frame(FrameType.DATA, 0, up, MESSAGE);
      upstream.onBytes(Buffer.concat([data, headersFrame(engine, up, trailers, true)]));
      await tick();
    }
  };
  await run(2_000); // warm up
  const before = answered;
  const t = process.hrtime.bigint();
  await run(CALLS);
  const ns = Number(process.hrtime.bigint() - t) / CALLS;
  if (answered - before < CALLS) throw new Error(`only ${answered - before} of ${CALLS} calls answered`);
  return ns;
}

/** Baseline: the same frames through FrameReader, each payload copied into a frame for the other side. */
async function framesOnly(): Promise<number> {
  const client = new HpackEncoder();
  const engine = new HpackEncoder();
  const sink: Buffer[] = [];
  const relay = new FrameReader((type, flags, sid, buf, start, end) => {
    const out = Buffer.allocUnsafe(9 + end - start);
    writeFrameHeader(out, 0, end - start, type, flags, sid);
    buf.copy(out, 9, start, end);
    sink.push(out);
  }, 16384);
  const request = [':method', 'POST', ':path', '/nerve.engine.v1.Engine/Invoke', 'x-nerve-engine', 'echo'];
  const run = async (n: number) => {
    for (let i = 0, id = 1; i < n; i++, id += 2) {
      relay.push(
        Buffer.concat([
          headersFrame(client, id, request, false),
          frame(FrameType.DATA, Flag.END_STREAM, id, MESSAGE),
        ]),
      );
      await tick();
      relay.push(headersFrame(engine, id, [':status', '200'], false));
      relay.push(
        Buffer.concat([
          frame(FrameType.DATA, 0, id, MESSAGE),
          headersFrame(engine, id, ['grpc-status', '0'], true),
        ]),
      );
      await tick();
      sink.length = 0;
    }
  };
  await run(2_000);
  const t = process.hrtime.bigint();
  await run(CALLS);
  return Number(process.hrtime.bigint() - t) / CALLS;
}

async function main(): Promise<void> {
  await load();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const r: number[] = [];
  const b: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let round = 0; round < ROUNDS; round++) {
    b.push(await framesOnly());
    r.push(await routed());
  }
  const cpu = process.cpuUsage(cpu0);
  (globalThis as unknown as { __allocDone?: () => void }).__allocDone?.();
  const m = median(r);
  const base = median(b);
  console.log(`router hot path, in-memory sockets, warm caches; medians of ${ROUNDS} × ${CALLS} calls`);
  console.log(
    `  routed call (ingress, routing, ForwardedCall, both connections): ${(m / 1000).toFixed(2)} µs`,
  );
  console.log(
    `  baseline, the same frames relayed by FrameReader: ${(base / 1000).toFixed(2)} µs; router = ×${(m / base).toFixed(1)}`,
  );
  console.log(
    `  process: ${((cpu.user + cpu.system) / 1e6).toFixed(1)} s CPU, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
