import { Buffer } from 'node:buffer';
import { performance } from 'node:perf_hooks';
import { H2ClientConnection } from '../protocol/h2/client';
import type { H2Stream, StreamHandler } from '../protocol/h2/stream';
import { CODE_NAMES } from '../protocol/grpc-codes';
import { HdrHistogram } from './hdr-histogram';
import { INVOKE } from './call-messages';

export { INVOKE } from './call-messages';

export interface LoadOptions {
  readonly host: string;
  readonly port: number;
  /** x-nerve-engine (routers); empty: not sent. */
  readonly engine: string;
  readonly method: string;
  /** gRPC-framed request messages, used in turn. */
  readonly messages: readonly Buffer[];
  readonly metadata: readonly (readonly [string, string])[];
  /** Open loop: calls per second, evenly spaced. */
  readonly rps?: number;
  /** Closed loop: calls kept in flight. */
  readonly concurrency?: number;
  readonly durationMs: number;
  readonly connections: number;
  readonly timeoutMs: number;
  /** Told of every call as it ends: its status name and latency (from its intended time). */
  readonly observe?: (code: string, latencyMs: number) => void;
}

export interface LoadResult {
  readonly requests: number;
  readonly ok: number;
  readonly elapsedMs: number;
  readonly histogram: HdrHistogram;
  readonly errors: Map<string, number>;
  readonly instances: Map<string, number>;
  readonly versions: Map<string, number>;
}

export interface Progress {
  readonly elapsedMs: number;
  readonly done: number;
  readonly errors: number;
  readonly p99Ms: number;
}

/**
 * A gRPC load generator over the project's own HTTP/2 client (a call costs a header block the encoder
 * re-sends as bytes and one DATA frame): open loop at a constant rate, each call's latency measured from
 * its intended send time so a stall shows in the percentiles instead of pausing the clock (wrk2's
 * coordinated-omission correction), or closed loop with a fixed number of calls in flight. Answers of
 * Engine/Invoke are read for the instance and version that served them; other payloads are not decoded.
 */
export class LoadRunner {
  private readonly conns: H2ClientConnection[] = [];
  private readonly headers: readonly string[];
  private readonly histogram = new HdrHistogram();
  private readonly errors = new Map<string, number>();
  private readonly instances = new Map<string, number>();
  private readonly versions = new Map<string, number>();
  private readonly spread: boolean;
  private sent = 0;
  private done = 0;
  private ok = 0;
  private next = 0;
  private startedAt = 0;
  private stopping = false;
  private finish: (() => void) | undefined;

  constructor(private readonly o: LoadOptions) {
    this.spread = o.method === INVOKE;
    const h = [
      ':method',
      'POST',
      ':scheme',
      'http',
      ':path',
      o.method,
      ':authority',
      `${o.host}:${o.port}`,
      'content-type',
      'application/grpc',
      'te',
      'trailers',
      'grpc-timeout',
      `${o.timeoutMs}m`,
    ];
    if (o.engine) h.push('x-nerve-engine', o.engine);
    for (const [k, v] of o.metadata) h.push(k, v);
    // One list object for every call: the HPACK encoder re-sends its bytes.
    this.headers = h;
  }

  async run(onProgress?: (p: Progress) => void): Promise<LoadResult> {
    for (let i = 0; i < this.o.connections; i++)
      this.conns.push(H2ClientConnection.connect(this.o.host, this.o.port));
    this.startedAt = performance.now();
    const progress = onProgress && setInterval(() => onProgress(this.progress()), 1_000);
    const ended = new Promise<void>((resolve) => (this.finish = resolve));
    const stopAt = setTimeout(() => this.stop(), this.o.durationMs);
    if (this.o.rps) this.openLoop(this.o.rps);
    else for (let i = 0; i < (this.o.concurrency ?? 1); i++) this.send(performance.now());
    await ended;
    clearTimeout(stopAt);
    if (progress) clearInterval(progress);
    for (const c of this.conns) c.destroy('load test over');
    return {
      requests: this.done,
      ok: this.ok,
      elapsedMs: performance.now() - this.startedAt,
      histogram: this.histogram,
      errors: this.errors,
      instances: this.instances,
      versions: this.versions,
    };
  }

  progress(): Progress {
    return {
      elapsedMs: performance.now() - this.startedAt,
      done: this.done,
      errors: this.done - this.ok,
      p99Ms: this.histogram.quantile(0.99) / 1000,
    };
  }

  /** Stops sending; calls in flight may finish until their timeout. */
  stop(): void {
    this.stopping = true;
    if (this.done === this.sent) this.finish?.();
    else setTimeout(() => this.abandon(), this.o.timeoutMs + 1_000).unref();
  }

  private abandon(): void {
    const left = this.sent - this.done;
    if (left > 0) this.count('DEADLINE_EXCEEDED', left);
    this.done = this.sent;
    this.finish?.();
  }

  /** Sends at the rate, catching up on calls whose time has come; each keeps its intended time. */
  private openLoop(rps: number): void {
    const every = 1000 / rps;
    const tick = () => {
      if (this.stopping) return;
      const now = performance.now();
      const due = Math.floor((now - this.startedAt) / every) + 1;
      while (this.sent < due && !this.stopping) this.send(this.startedAt + this.sent * every);
      const wait = this.startedAt + this.sent * every - performance.now();
      if (wait >= 1) setTimeout(tick, Math.floor(wait));
      else setImmediate(tick);
    };
    tick();
  }

  private send(intendedAt: number): void {
    this.sent++;
    const conn = this.connection();
    const message = this.o.messages[this.next++ % this.o.messages.length];
    if (!conn) return this.complete(intendedAt, 'UNAVAILABLE');
    const call = new Call(this, intendedAt);
    try {
      const stream = conn.request(this.headers, undefined, call);
      stream.write(message);
      stream.end();
    } catch {
      this.complete(intendedAt, 'UNAVAILABLE');
    }
  }

  private connection(): H2ClientConnection | undefined {
    for (let i = 0; i < this.conns.length; i++) {
      const c = this.conns[(this.sent + i) % this.conns.length];
      if (c.available) return c;
    }
    // Replace closed connections (a GOAWAY, a restart of the target).
    for (let i = 0; i < this.conns.length; i++)
      if (!this.conns[i].available && !this.conns[i].connecting) {
        this.conns[i].destroy('replaced');
        this.conns[i] = H2ClientConnection.connect(this.o.host, this.o.port);
        return this.conns[i];
      }
    return undefined;
  }

  /** A call is over: counted (latency from its intended time), and in closed loop the next is sent. */
  complete(intendedAt: number, code: string, body?: Buffer): void {
    this.done++;
    if (this.o.observe !== undefined) this.o.observe(code, performance.now() - intendedAt);
    if (code === 'OK') {
      this.ok++;
      this.histogram.record((performance.now() - intendedAt) * 1000);
      if (this.spread && body) this.noteServedBy(body);
    } else this.count(code, 1);
    if (!this.stopping) {
      if (!this.o.rps) this.send(performance.now());
    } else if (this.done >= this.sent) this.finish?.();
  }

  private count(code: string, n: number): void {
    this.errors.set(code, (this.errors.get(code) ?? 0) + n);
  }

  /** InvokeResponse fields 2 (instance_id) and 4 (version), read without decoding the payload. */
  private noteServedBy(body: Buffer): void {
    let i = 5;
    while (i < body.length) {
      const tag = body[i++];
      if ((tag & 7) !== 2) return;
      let len = 0;
      for (let shift = 0; ; shift += 7) {
        const b = body[i++];
        len |= (b & 0x7f) << shift;
        if (!(b & 0x80) || shift > 21) break;
      }
      const field = tag >> 3;
      if (field === 2 || field === 4) {
        const value = body.toString('utf8', i, i + len);
        const map = field === 2 ? this.instances : this.versions;
        map.set(value, (map.get(value) ?? 0) + 1);
      }
      i += len;
    }
  }
}

/** One call: its answer's status and body. */
class Call implements StreamHandler {
  private status = '';
  private http = '';
  private body: Buffer | undefined;
  private over = false;

  constructor(
    private readonly runner: LoadRunner,
    private readonly intendedAt: number,
  ) {}

  onHeaders(_s: H2Stream, headers: readonly string[], endStream: boolean): void {
    for (let i = 0; i < headers.length; i += 2) {
      if (headers[i] === 'grpc-status') this.status = headers[i + 1];
      else if (headers[i] === ':status') this.http = headers[i + 1];
    }
    if (endStream) this.end();
  }

  onData(_s: H2Stream, chunk: Buffer): void {
    this.body = this.body === undefined ? chunk : Buffer.concat([this.body, chunk]);
  }

  onEnd(): void {
    this.end();
  }

  onReset(): void {
    this.finish('UNAVAILABLE');
  }

  onDrain(): void {}

  private end(): void {
    if (this.http !== '' && this.http !== '200') return this.finish('UNAVAILABLE');
    if (this.status === '') return this.finish('UNKNOWN');
    this.finish(this.status === '0' ? 'OK' : (CODE_NAMES[Number(this.status)] ?? `CODE_${this.status}`));
  }

  private finish(code: string): void {
    if (this.over) return;
    this.over = true;
    this.runner.complete(this.intendedAt, code, this.body);
  }
}
