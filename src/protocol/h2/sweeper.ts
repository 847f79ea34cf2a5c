import { ErrorCode } from './frames';
import type { ConnectionStats } from './connection-stats';
import type { H2Limits } from './limits';

/** What the sweeper reads of a server connection, and how it closes one. */
export interface SweptConnection {
  readonly prefaceLeft: number;
  readonly streams: { readonly size: number };
  readonly streamsOpened: number;
  readonly continuation: object | undefined;
  readonly framesRead: number;
  /** DATA frames sent so far: unchanged between sweeps, the connection wrote nothing. */
  readonly dataFramesSent: number;
  readonly partialFrameBytes: number;
  readonly destroyed: boolean;
  memoryBytes(): number;
  releaseBuffers(): void;
  close(): void;
  fail(code: number, why: string, reason: string): void;
  destroy(why: string): void;
}

/** What the sweeper remembers of a connection between sweeps. */
interface Watch {
  readonly acceptedAt: number;
  /** When it is drained for its age (maxConnectionAgeMs, jittered ±10 % as gRPC does). */
  readonly oldAt: number;
  opened: number;
  idleSince: number;
  block: object | undefined;
  blockSince: number;
  framesRead: number;
  /** dataFramesSent at the last sweep. */
  dataSent: number;
  partialSince: number;
  closingSince: number;
}

/**
 * Times a server's connections, one timer for all of them, so nothing is timed per call: the preface,
 * a header block or frame begun and not finished (slowloris), idleness, age (a two-step GOAWAY, then
 * drainGraceMs for the calls in flight), and the memory each holds. Activity is told by counters the
 * connection keeps anyway (streams opened, frames read), sampled once a sweep.
 */
export class ConnectionSweeper {
  private readonly watched = new Map<SweptConnection, Watch>();
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;

  constructor(
    private readonly limits: H2Limits,
    private readonly stats: ConnectionStats,
  ) {
    const timeouts = [limits.prefaceTimeoutMs, limits.headersTimeoutMs, limits.idleTimeoutMs]
      .concat(limits.maxConnectionAgeMs > 0 ? [limits.maxConnectionAgeMs] : [])
      .filter((t) => t > 0);
    this.intervalMs = Math.max(20, Math.min(1_000, Math.floor(Math.min(...timeouts) / 4)));
  }

  add(conn: SweptConnection): void {
    const now = Date.now();
    const age = this.limits.maxConnectionAgeMs;
    this.watched.set(conn, {
      acceptedAt: now,
      oldAt: age > 0 ? now + age * (0.9 + 0.2 * Math.random()) : Infinity,
      opened: 0,
      idleSince: now,
      block: undefined,
      blockSince: 0,
      framesRead: 0,
      dataSent: 0,
      partialSince: 0,
      closingSince: 0,
    });
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(Date.now()), this.intervalMs);
      this.timer.unref();
    }
  }

  delete(conn: SweptConnection): void {
    this.watched.delete(conn);
    if (this.watched.size === 0) this.stop();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  sweep(now: number): void {
    for (const [conn, w] of this.watched) if (!conn.destroyed) this.check(conn, w, now);
  }

  private check(conn: SweptConnection, w: Watch, now: number): void {
    const l = this.limits;
    if (conn.prefaceLeft > 0) {
      if (now - w.acceptedAt > l.prefaceTimeoutMs)
        conn.fail(
          ErrorCode.PROTOCOL_ERROR,
          `no client preface within ${l.prefaceTimeoutMs} ms`,
          'preface_timeout',
        );
      return;
    }
    if (conn.continuation === undefined) w.block = undefined;
    else if (conn.continuation !== w.block) {
      w.block = conn.continuation;
      w.blockSince = now;
    } else if (now - w.blockSince > l.headersTimeoutMs) {
      return conn.fail(
        ErrorCode.ENHANCE_YOUR_CALM,
        `a header block not finished within ${l.headersTimeoutMs} ms`,
        'headers_timeout',
      );
    }
    if (conn.partialFrameBytes === 0 || conn.framesRead !== w.framesRead) {
      w.framesRead = conn.framesRead;
      w.partialSince = 0;
    } else if (w.partialSince === 0) {
      w.partialSince = now;
    } else if (now - w.partialSince > l.headersTimeoutMs) {
      return conn.fail(
        ErrorCode.ENHANCE_YOUR_CALM,
        `a frame not finished within ${l.headersTimeoutMs} ms`,
        'frame_timeout',
      );
    }
    const memory = conn.memoryBytes();
    if (memory > l.maxConnectionMemory)
      return conn.fail(
        ErrorCode.ENHANCE_YOUR_CALM,
        `the connection holds ${memory} bytes, over maxConnectionMemory ${l.maxConnectionMemory}`,
        'memory',
      );
    if (w.closingSince > 0) {
      if (now - w.closingSince > l.drainGraceMs) conn.destroy(`drained for ${l.drainGraceMs} ms: closed`);
      return;
    }
    if (conn.streams.size > 0 || conn.streamsOpened !== w.opened) {
      w.opened = conn.streamsOpened;
      w.idleSince = 0;
      // A long-lived stream that wrote nothing since the last sweep (an xDS stream between pushes)
      // gives its write buffer back too: ten thousand of them need not hold 32 KiB each.
      if (conn.dataFramesSent === w.dataSent) conn.releaseBuffers();
      w.dataSent = conn.dataFramesSent;
    } else if (w.idleSince === 0) {
      w.idleSince = now;
    } else {
      conn.releaseBuffers();
      if (l.idleTimeoutMs > 0 && now - w.idleSince > l.idleTimeoutMs)
        return this.drain(conn, w, now, 'idle_timeout');
    }
    if (now > w.oldAt) this.drain(conn, w, now, 'max_age');
  }

  private drain(conn: SweptConnection, w: Watch, now: number, reason: string): void {
    this.stats.drained(reason);
    w.closingSince = now;
    conn.close();
  }
}
