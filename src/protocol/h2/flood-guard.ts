import { ConnectionError, ErrorCode } from './frames';
import type { H2Limits } from './limits';

/**
 * Counters of the frames a peer sends that cost us work but carry nothing a call needs (the HTTP/2 flood
 * CVEs of 2019 and 2023/24), bounded as Envoy bounds them. Each check is a counter and a comparison; a
 * peer past a limit gets a ConnectionError ENHANCE_YOUR_CALM naming the limit (its metrics reason).
 */
export class FloodGuard {
  /** DATA (without END_STREAM), HEADERS or CONTINUATION with nothing in them, in a row. */
  private emptyInRow = 0;
  private priorityFrames = 0;
  private windowUpdates = 0;
  /** Streams the peer reset before their response was complete. */
  prematureResets = 0;
  /** Streams opened on the connection, by either side. */
  streamsOpened = 0;

  constructor(private readonly limits: H2Limits) {}

  /** A frame whose payload was empty: a second in a row is a flood (CVE-2019-9518). */
  empty(): void {
    if (++this.emptyInRow > this.limits.maxConsecutiveEmptyFrames)
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        `more than ${this.limits.maxConsecutiveEmptyFrames} frames with an empty payload in a row`,
        'empty_frames',
      );
  }

  /** A DATA, HEADERS or CONTINUATION frame that carried something. */
  nonEmpty(): void {
    this.emptyInRow = 0;
  }

  priority(): void {
    if (++this.priorityFrames > this.limits.maxPriorityFramesPerStream * (1 + this.streamsOpened))
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        `more than ${this.limits.maxPriorityFramesPerStream} PRIORITY frames per stream opened`,
        'priority_flood',
      );
  }

  /** A WINDOW_UPDATE; `dataFramesSent`: DATA frames we have sent on the connection (what it credits). */
  windowUpdate(dataFramesSent: number): void {
    const allowed = 5 + 2 * (this.streamsOpened + this.limits.maxWindowUpdatesPerDataFrame * dataFramesSent);
    if (++this.windowUpdates > allowed)
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        `more than ${this.limits.maxWindowUpdatesPerDataFrame} WINDOW_UPDATE frames per DATA frame sent`,
        'window_update_flood',
      );
  }

  /**
   * The peer reset a stream of its own before its response was complete (rapid reset, CVE-2023-44487):
   * each such stream may have cost an upstream attempt for nothing.
   */
  prematureReset(): void {
    const n = ++this.prematureResets;
    if (n > this.limits.maxPrematureResets && 2 * n > this.streamsOpened)
      throw new ConnectionError(
        ErrorCode.ENHANCE_YOUR_CALM,
        `${n} of ${this.streamsOpened} streams reset before their response (more than ${this.limits.maxPrematureResets}, and over half)`,
        'rapid_reset',
      );
  }
}
