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

  constructor(readonly headers: string[]) {}

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
    return head.readUInt32BE(1);
  }
}
