/**
 * How the peer's recently closed streams closed, for frames that arrive on them (RFC 9113 §5.1): after
 * we reset a stream the peer may still have frames in flight, which are ignored; after a stream ended
 * both ways, more frames are the peer's error (STREAM_CLOSED); an id the peer skipped over was never
 * open, and a HEADERS frame on it is a PROTOCOL_ERROR (§5.1.1: stream ids only rise).
 *
 * A fixed ring: recording a close costs one store, and what is looked up (rarely: a frame for a stream
 * that is gone) is a scan. Ids that fell out of the ring answer `unknown`: the caller then ignores the
 * frame, as the gentle choice for a stream whose story is forgotten.
 */
export const Closed = {
  Unknown: 0,
  /** We reset it (RST_STREAM) before the peer ended its side. */
  ResetByUs: 1,
  /** Both sides ended it, or the peer reset it. */
  Ended: 2,
  /** An id the peer skipped: implicitly closed, never open (§5.1.1). */
  Skipped: 3,
} as const;
export type Closed = (typeof Closed)[keyof typeof Closed];

const RING = 256;
const SKIPPED_RANGES = 16;

export class ClosedStreams {
  /**
   * id * 4 + how, newest at `next - 1`; made at the first close, so a connection that keeps one stream
   * open for hours (an xDS stream) holds none.
   */
  private ring: Float64Array | undefined;
  private next = 0;
  /** [from, to] pairs of ids skipped, newest last (a client that skips ids is rare). */
  private readonly skipped: number[] = [];

  record(id: number, how: typeof Closed.ResetByUs | typeof Closed.Ended): void {
    (this.ring ??= new Float64Array(RING))[this.next] = id * 4 + how;
    this.next = (this.next + 1) & (RING - 1);
  }

  /** The peer opened `id` after `last` (same parity): the ids between were skipped. */
  opened(id: number, last: number): void {
    const from = last > 0 ? last + 2 : 2 - (id % 2);
    if (from > id - 2) return;
    this.skipped.push(from, id - 2);
    if (this.skipped.length > 2 * SKIPPED_RANGES) this.skipped.splice(0, 2);
  }

  how(id: number): Closed {
    const ring = this.ring;
    for (let k = 1; ring !== undefined && k <= RING; k++) {
      const v = ring[(this.next - k) & (RING - 1)];
      if (v === 0) break;
      if (Math.floor(v / 4) === id) return (v % 4) as Closed;
    }
    for (let i = 0; i < this.skipped.length; i += 2)
      if (id >= this.skipped[i] && id <= this.skipped[i + 1] && (id - this.skipped[i]) % 2 === 0)
        return Closed.Skipped;
    return Closed.Unknown;
  }
}
