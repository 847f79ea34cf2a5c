import type { Socket } from 'node:net';

/** What reads are handed to (socket-reads.ts BytesReceiver: the chunk is valid only during the call). */
interface BytesReceiver {
  onBytes(chunk: Buffer, length: number): void;
}

interface Deferred {
  readonly socket: Socket;
  readonly sink: () => BytesReceiver | undefined;
  readonly bytes: Buffer;
}

/**
 * A bound on how long one turn of the event loop spends on the reads of the sockets that share it.
 * libuv hands a turn every socket that became readable, thousands at once when a fleet ACKs a push,
 * and everything else (an admin call, a health probe, a timer) waits until they are all handled. Past
 * `sliceMs` of reads in a turn, a read is copied aside and its socket paused; the reads set aside are
 * handled in slices of `sliceMs` from the next check phase on, each socket resumed after its own, so
 * the loop serves whatever waits between two slices.
 *
 * While `busy()` says that other sliced work is under way (a push to the fleet), reads get a quarter of
 * the slice: the streams not pushed yet wait for the pass rather than for the ACKs of those before
 * them.
 *
 * Contracts: a socket's bytes are handled in the order read (a paused socket reads nothing until its
 * bytes set aside are handled); every read is handled, however many come; a destroyed socket's bytes
 * set aside are dropped.
 */
export class ReadBudget {
  private spentMs = 0;
  /** A check-phase callback that starts the next turn's budget is scheduled. */
  private armed = false;
  private readonly deferred: Deferred[] = [];
  private next = 0;
  private draining = false;

  constructor(
    readonly sliceMs: number,
    private readonly busy: () => boolean = () => false,
    private readonly now: () => number = () => performance.now(),
    private readonly later: (run: () => void) => void = (run) => setImmediate(run),
  ) {}

  /** The reads' share of a turn now. */
  private slice(): number {
    return this.busy() ? this.sliceMs / 4 : this.sliceMs;
  }

  /** Reads set aside, not handled yet. */
  get waiting(): number {
    return this.deferred.length - this.next;
  }

  /**
   * Handles `chunk[0, n)` now, or sets a copy aside; false when it was set aside (the caller pauses the
   * socket: net's `onread` does when its callback returns false).
   */
  read(socket: Socket, sink: () => BytesReceiver | undefined, chunk: Buffer, n: number): boolean {
    if (!this.armed) {
      this.armed = true;
      this.later(this.newTurn);
    }
    if (this.spentMs >= this.slice()) {
      this.deferred.push({ socket, sink, bytes: Buffer.from(chunk.subarray(0, n)) });
      this.drainSoon();
      return false;
    }
    const started = this.now();
    try {
      sink()?.onBytes(chunk, n);
    } finally {
      this.spentMs += this.now() - started;
    }
    return true;
  }

  private readonly newTurn = (): void => {
    this.armed = false;
    this.spentMs = 0;
  };

  private drainSoon(): void {
    if (this.draining) return;
    this.draining = true;
    this.later(this.drain);
  }

  private readonly drain = (): void => {
    this.draining = false;
    const until = this.now() + this.slice();
    const list = this.deferred;
    while (this.next < list.length) {
      const d = list[this.next];
      list[this.next++] = undefined as unknown as Deferred;
      if (d.socket.destroyed) continue;
      try {
        d.sink()?.onBytes(d.bytes, d.bytes.length);
      } finally {
        // Resumed even if handling threw: the connection's own error handling has closed it or not.
        if (!d.socket.destroyed) d.socket.resume();
      }
      if ((this.next & 7) === 0 && this.now() >= until) break;
    }
    if (this.next < list.length) this.drainSoon();
    else {
      list.length = 0;
      this.next = 0;
    }
  };
}
