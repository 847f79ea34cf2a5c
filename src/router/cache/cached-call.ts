import { Buffer } from 'node:buffer';
import { H2Stream, type StreamConnection, type StreamHandler } from '../../protocol/h2/stream';
import { headerValue } from '../http/headers';
import type { Admission } from '../resilience/admission';
import { cacheKey } from './cache-key';
import type { CachedResponse, ResponseCache } from './response-cache';

/** Requests larger than this are forwarded as they are, never cached. */
const MAX_REQUEST = 1024 * 1024;
const CACHE_HEADER = 'x-nerve-cache';
const WINDOW = 0x7fffffff;

type Answer = {
  readonly headers: readonly string[];
  readonly body: Buffer;
  readonly trailers: readonly string[];
};

/**
 * A call to a method with a response cache: its request is read whole, then answered from the cache
 * (`x-nerve-cache: hit`), joined to an identical call in flight (`coalesced`: singleflight, one upstream
 * call for all), or forwarded (`miss`) through the usual path with its answer recorded. Forwarding goes
 * through a stand-in stream whose request is the buffered one and whose writes reach the caller while
 * they are recorded, so retries, hedging and held responses work unchanged. Only an OK answer of one
 * message is stored.
 */
export function serveCached(
  down: H2Stream,
  cache: ResponseCache,
  to: Dispatcher,
  engine: string,
  admission: Admission,
): void {
  new CachedCall(down, cache, (stream) => to.dispatch(stream, engine, admission));
}

/** Where a call that must reach an instance goes: the ingress's admission and routing. */
export interface Dispatcher {
  dispatch(stream: H2Stream, engine: string, admission: Admission): void;
}

class CachedCall implements StreamHandler, StreamConnection {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private tap: H2Stream | undefined;
  private key: string | undefined;
  private respHeaders: readonly string[] | undefined;
  private readonly respChunks: Buffer[] = [];
  private respBytes = 0;
  private finished = false;

  constructor(
    private readonly down: H2Stream,
    private readonly cache: ResponseCache,
    private readonly dispatch: (stream: H2Stream) => void,
  ) {
    down.attach(this);
  }

  // The caller's side.

  onHeaders(): void {
    // Request trailers: gRPC clients send none; nothing to keep.
  }

  onData(_down: H2Stream, chunk: Buffer): void {
    if (this.tap !== undefined) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size > MAX_REQUEST) this.forward(undefined, false);
  }

  onEnd(): void {
    if (this.tap !== undefined) return;
    const body = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks);
    const key = cacheKey(this.cache.policy, this.down.headers, body);
    if (key === undefined) return this.forward(undefined, true);
    const hit = this.cache.get(key, Date.now());
    if (hit !== undefined) {
      this.cache.counters.hits++;
      const down = this.down;
      down.respond(hit.hitHeaders, false);
      if (hit.body.length > 0) down.write(hit.body);
      down.end(hit.trailers);
      return;
    }
    const waiting = this.cache.inFlight.get(key);
    if (waiting !== undefined) {
      this.cache.counters.coalesced++;
      waiting.push((answer) => {
        if (this.down.closed) return;
        if (answer) replay(this.down, answer, 'coalesced');
        else this.forward(undefined, true); // the first call could not share its answer: go alone
      });
      return;
    }
    this.cache.counters.misses++;
    this.cache.inFlight.set(key, []);
    this.forward(key, true);
  }

  onReset(_down: H2Stream, code: number, why: string): void {
    const tap = this.tap;
    if (tap !== undefined && !tap.closed) {
      tap.closed = true;
      if (tap.handler) tap.handler.onReset(tap, code, why);
      else tap.onGoneEarly?.(); // still queued for admission: it leaves the queue
    }
  }

  onDrain(): void {
    const tap = this.tap;
    if (tap !== undefined) tap.handler?.onDrain(tap);
  }

  /** Hands the buffered request to the usual path through the stand-in stream (`key`: record the answer). */
  private forward(key: string | undefined, whole: boolean): void {
    this.key = key;
    const tap = (this.tap = new H2Stream(this, this.down.id, this.down.headers, WINDOW, WINDOW));
    tap.added = this.down.added;
    tap.addedSeed = this.down.addedSeed;
    tap.early = this.chunks.splice(0);
    if (whole) tap.remoteEnded = true;
    else {
      // Too large to cache: what comes next goes straight on.
      this.down.attach(passOn(tap));
    }
    this.dispatch(tap);
  }

  // The stand-in stream's connection: the answer, on its way to the caller.

  sendHeaders(
    _tap: H2Stream,
    headers: readonly string[],
    extra: readonly string[] | undefined,
    endStream: boolean,
  ): void {
    const all = extra ? [...headers, ...extra] : headers;
    this.respHeaders = all;
    this.down.respond(this.key === undefined ? all : [...all, CACHE_HEADER, 'miss'], endStream);
    if (endStream) this.finish(all);
  }

  sendData(_tap: H2Stream, chunk: Buffer): boolean {
    if (this.key !== undefined && this.respBytes <= Number(this.cache.policy.maxBytes)) {
      this.respChunks.push(Buffer.from(chunk));
      this.respBytes += chunk.length;
    }
    return this.down.write(chunk);
  }

  sendEnd(_tap: H2Stream, trailers: readonly string[]): void {
    this.down.end(trailers);
    this.finish(trailers);
  }

  resetStream(tap: H2Stream, code: number): void {
    tap.closed = true;
    this.down.reset(code);
    this.finish(undefined);
  }

  credit(): void {
    // The request is read whole already: no window to give back.
  }

  /** The answer is complete (or lost): stored when it may be, and shared with the calls that waited. */
  private finish(trailers: readonly string[] | undefined): void {
    if (this.finished) return;
    this.finished = true;
    const tap = this.tap!;
    tap.localEnded = true;
    tap.closed = true;
    const key = this.key;
    if (key === undefined) return;
    const waiters = this.cache.inFlight.get(key) ?? [];
    this.cache.inFlight.delete(key);
    let answer: Answer | CachedResponse | undefined;
    if (
      trailers !== undefined &&
      this.respHeaders !== undefined &&
      this.respBytes <= Number(this.cache.policy.maxBytes)
    ) {
      const body = this.respChunks.length === 1 ? this.respChunks[0] : Buffer.concat(this.respChunks);
      const ok = headerValue(trailers, 'grpc-status') === '0' && oneMessage(body);
      const headers = this.respHeaders === trailers ? trailers : this.respHeaders;
      answer = (ok && this.cache.set(key, headers, body, trailers, Date.now())) || {
        headers,
        body,
        trailers,
      };
    }
    for (const w of waiters) w(answer as CachedResponse | undefined, trailers ?? []);
  }
}

/** Sends a recorded answer to a caller, marked with where it came from. */
function replay(down: H2Stream, a: Answer, tag: string): void {
  if (down.closed) return;
  const trailersOnly = a.headers === a.trailers;
  down.respond([...withoutCacheHeader(a.headers), CACHE_HEADER, tag], trailersOnly);
  if (trailersOnly) return;
  if (a.body.length > 0) down.write(a.body);
  down.end(a.trailers);
}

function withoutCacheHeader(headers: readonly string[]): readonly string[] {
  const at = headers.indexOf(CACHE_HEADER);
  return at < 0 || at % 2 !== 0 ? headers : [...headers.slice(0, at), ...headers.slice(at + 2)];
}

/** Whether a response body is exactly one uncompressed gRPC message. */
function oneMessage(body: Buffer): boolean {
  return body.length >= 5 && body[0] === 0 && body.readUInt32BE(1) === body.length - 5;
}

/** After a request outgrew the cache, its further bytes go to the stand-in stream's handler. */
function passOn(tap: H2Stream): StreamHandler {
  return {
    onHeaders: () => undefined,
    onData: (_d, chunk) => (tap.handler ? tap.handler.onData(tap, chunk) : (tap.early ??= []).push(chunk)),
    onEnd: () => {
      tap.remoteEnded = true;
      tap.handler?.onEnd(tap);
    },
    onReset: (_d, code, why) => {
      tap.closed = true;
      tap.handler?.onReset(tap, code, why);
    },
    onDrain: () => tap.handler?.onDrain(tap),
  };
}
