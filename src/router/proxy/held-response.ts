import { Buffer } from 'node:buffer';
/**
 * The start of a response is held (HeldResponse) until its trailers, its second message or this long:
 * an instance dying between its headers and its trailers — gRPC servers send HEADERS, DATA and trailers
 * in separate writes, turns of their event loop apart, more under load — is then retried (or, for a
 * hedged call, left to its other copies) like one that never answered. A unary caller waits for the
 * trailers anyway, so it loses nothing; a stream whose first message is followed by a pause shows that
 * message (or headers sent alone) at most this much later.
 */
export const HOLD_MS = 100;
/** Held body bytes past which the response is sent on: bounded memory per call. */
const HOLD_BYTES = 64 * 1024;
/** gRPC's message prefix: a compressed flag and a 4-byte length. */
const PREFIX = 5;

/**
 * The start of a response — headers and the bytes of its first message — held back until the response
 * proves complete (its trailers come) or streaming (bytes past the first message), so an instance dying
 * before its trailers leaves nothing sent to the caller and the call can be retried. Only the length
 * prefix of the first message is read; payloads stay opaque.
 */
export class HeldResponse {
  readonly chunks: Buffer[] = [];
  private bytes = 0;
  /** Where the first message ends in the body, once its prefix is in. */
  private firstEnd = -1;

  constructor(readonly headers: readonly string[]) {}

  /** Holds `chunk`; false when the response must now be sent on (streaming, or too much held). */
  add(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
    if (this.bytes > HOLD_BYTES) return false;
    if (this.firstEnd < 0 && this.bytes >= PREFIX) this.firstEnd = PREFIX + this.firstLength();
    return this.firstEnd < 0 || this.bytes <= this.firstEnd;
  }

  private firstLength(): number {
    const head = this.chunks[0].length >= PREFIX ? this.chunks[0] : Buffer.concat(this.chunks);
    // Unsigned 32-bit big-endian at 1 (by hand: Buffer#readUInt32BE checks its arguments first).
    return head[1] * 0x1000000 + ((head[2] << 16) | (head[3] << 8) | head[4]);
  }
}
