/**
 * What this side of every router connection advertises. Windows are large so one call's body is never
 * held up by a round trip of WINDOW_UPDATE on loopback or in a data centre; bytes are credited back only
 * as the other side of the proxy takes them, so a slow reader holds at most one window per stream (and
 * the connection window in all) in the router's memory.
 */
export const LOCAL = {
  streamWindow: 1 << 20,
  connectionWindow: 8 << 20,
  maxFrameSize: 16_384,
  /** Request or response header list, as RFC 9113 §6.5.2 counts it. */
  maxHeaderListSize: 64 * 1024,
  /** A header block split over CONTINUATION frames is dropped (with the connection) past this. */
  maxHeaderBlock: 256 * 1024,
  /** Streams a client may open at once on one connection. */
  maxConcurrentStreams: 1_000,
} as const;
