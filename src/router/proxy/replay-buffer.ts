/** Request bytes kept to send again (a retry, a hedged copy); past this, none are kept. */
const MAX_REPLAY_BYTES = 64 * 1024;

/**
 * The request body of a call as it arrives, kept so another attempt can be sent the same bytes. A
 * request that grows past MAX_REPLAY_BYTES is no longer replayable: what was kept is dropped, and the call
 * makes no new attempts (those running go on).
 */
export class ReplayBuffer {
  readonly chunks: Buffer[] = [];
  replayable = true;
  private bytes = 0;

  add(chunk: Buffer): void {
    if (!this.replayable) return;
    this.bytes += chunk.length;
    if (this.bytes > MAX_REPLAY_BYTES) {
      this.replayable = false;
      this.chunks.length = 0;
    } else {
      this.chunks.push(chunk);
    }
  }
}
