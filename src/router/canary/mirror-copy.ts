import { performance } from 'node:perf_hooks';
import type { RoutableEndpoint } from '../balancer/picker';
import { ErrorCode } from '../../protocol/h2/frames';
import type { H2Stream, StreamHandler } from '../../protocol/h2/stream';
import { headerValue } from '../http/headers';
import type { CanaryRouting } from './canary-routing';

/** Where copies open their streams: the router's upstream pool. */
export interface Connections {
  connection(address: string): {
    request(headers: readonly string[], extra: readonly string[], handler: StreamHandler): H2Stream;
  };
}

const UNAVAILABLE = 14;
const UNKNOWN = 2;

/** Sent with every copy, so the engine can tell a mirrored call (and, say, skip side effects). */
export const MIRROR_HEADER = 'x-nerve-mirror';
const MIRROR_FIELD = [MIRROR_HEADER, 'true'];
/** Request bytes a copy may have queued toward a slow canary before it is given up. */
export const MIRROR_MAX_QUEUED = 1 << 20;
/** A copy without a deadline of its own is given up after this long. */
export const MIRROR_MAX_MS = 60_000;

/**
 * One call's copy to a canary instance (traffic mirroring, Envoy's shadowing). It gets the caller's
 * request headers (with x-nerve-mirror: true) and every request byte as the caller sends it; its answer
 * is read and dropped, its status and latency recorded on the canary instance's stats (so the
 * rollout's analysis sees them in the router's reports; the canary's balancing and outlier signals
 * read them too, as they are its own answers). It never touches a breaker, the admission, a retry
 * budget or the instance that served the caller, and the caller never waits on it: a copy that cannot
 * keep up (more than MIRROR_MAX_QUEUED bytes queued), or a caller that goes away before its request
 * ended, gives the copy up, counted as abandoned, not as the canary's error.
 */
export class MirrorCopy implements StreamHandler {
  private up: H2Stream | undefined;
  private startedAt = 0;
  private queued = 0;
  private requestEnded = false;
  private over = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly routing: CanaryRouting,
    private readonly endpoint: RoutableEndpoint,
  ) {}

  /** Opens the copy's stream with the caller's headers; false when the canary cannot be reached now. */
  open(pool: Connections, headers: readonly string[], hasDeadline: boolean): boolean {
    try {
      this.up = pool.connection(this.endpoint.address).request(headers, MIRROR_FIELD, this);
    } catch {
      return false;
    }
    this.routing.mirrorsInFlight++;
    this.routing.mirrored++;
    this.startedAt = performance.now();
    this.endpoint.stats.started(this.startedAt);
    if (!hasDeadline) {
      this.timer = setTimeout(() => this.giveUp(), MIRROR_MAX_MS);
      this.timer.unref();
    }
    return true;
  }

  write(chunk: Buffer): void {
    const up = this.up;
    if (up === undefined) return;
    if (up.write(chunk)) return;
    this.queued += chunk.length;
    if (this.queued > MIRROR_MAX_QUEUED) this.giveUp();
  }

  end(): void {
    this.requestEnded = true;
    this.up?.end();
  }

  /** The caller went away: a copy whose request is whole goes on; one cut short is given up. */
  callerGone(): void {
    if (!this.requestEnded) this.giveUp();
  }

  onHeaders(_stream: H2Stream, headers: readonly string[], endStream: boolean): void {
    if (!endStream) return;
    const raw = headerValue(headers, 'grpc-status');
    const code = raw === undefined || raw === '' ? NaN : Number(raw);
    this.finish(Number.isInteger(code) ? code : UNKNOWN);
  }

  onData(): void {
    // The answer is discarded; the stream credits the bytes back as they are delivered.
  }

  onEnd(): void {
    this.finish(UNAVAILABLE);
  }

  onReset(): void {
    this.finish(UNAVAILABLE);
  }

  onDrain(): void {
    this.queued = 0;
  }

  private giveUp(): void {
    if (this.over) return;
    this.up?.reset(ErrorCode.CANCEL);
    this.close();
    this.endpoint.stats.abandoned();
  }

  private finish(code: number): void {
    if (this.over) return;
    this.close();
    const end = performance.now();
    this.endpoint.stats.finished(code, end - this.startedAt, end);
  }

  private close(): void {
    this.over = true;
    this.up = undefined;
    clearTimeout(this.timer);
    this.routing.mirrorsInFlight--;
  }
}
