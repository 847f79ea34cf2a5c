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
} as const;
// Limits on what a peer may cost (header sizes, streams, floods, timeouts) are settings: limits.ts.
