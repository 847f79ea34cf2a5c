/**
 * What one HTTP/2 connection of the router may cost, and how long it may take: the limits nghttp2 and
 * Envoy keep against floods and slow peers, each with a safe default. A peer past a limit is closed
 * (GOAWAY with the RFC's code where it can still be read) and counted on /metrics by the limit's reason
 * (`nerve_router_connection_violations_total{reason}`). Settings of the `nerve router` command
 * (`--h2-<kebab-name>`, env `ROUTER_H2_<SNAKE_NAME>`, YAML `router.http2.<name>`); see the README.
 */
export interface H2Limits {
  /** Header list (RFC 9113 §6.5.2's measure), advertised as SETTINGS_MAX_HEADER_LIST_SIZE; past it: 431 / reset. */
  readonly maxHeaderListSize: number;
  /**
   * Requests refused for a header list over maxHeaderListSize (431) on one connection; past it the
   * connection is closed: each such block still has to be decoded in full (an HPACK bomb costs CPU).
   */
  readonly maxRefusedHeaderLists: number;
  /** Bytes of one header block, HEADERS and CONTINUATION frames together; past it the connection closes. */
  readonly maxHeaderBlockBytes: number;
  /** CONTINUATION frames of one header block (CVE-2024-27316: empty ones cost the peer 9 bytes each). */
  readonly maxContinuationFrames: number;
  /** Our HPACK dynamic table (SETTINGS_HEADER_TABLE_SIZE), and the most the peer may make ours be. */
  readonly headerTableSize: number;
  /** Streams a client may open at once on one connection (SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number;
  /** Frames other than DATA written but not yet taken by the kernel (Envoy's max_outbound_frames; DATA is bounded by bytes). */
  readonly maxOutboundFrames: number;
  /** Of those, control frames: PING and SETTINGS ACKs, RST_STREAM (Envoy's max_outbound_control_frames). */
  readonly maxOutboundControlFrames: number;
  /** DATA without END_STREAM, HEADERS or CONTINUATION with nothing in them, in a row (Envoy: 1). */
  readonly maxConsecutiveEmptyFrames: number;
  /** PRIORITY frames per stream opened (and one for the connection) (Envoy: 100). */
  readonly maxPriorityFramesPerStream: number;
  /** WINDOW_UPDATE frames per DATA frame we sent (Envoy's max_inbound_window_update_frames_per_data_frame_sent: 10). */
  readonly maxWindowUpdatesPerDataFrame: number;
  /**
   * Streams the peer may reset before their response is complete (rapid reset, CVE-2023-44487): past this,
   * while they are more than half of its streams, the connection is closed (Envoy's premature-reset
   * check). A client that cancels now and then never comes near.
   */
  readonly maxPrematureResets: number;
  /** Entries in one SETTINGS frame (nghttp2: 32); a longer list is a flood, not a configuration. */
  readonly maxSettingsEntries: number;
  /** Bytes a connection may hold in the router: partial frames, header blocks, early and queued DATA, unsent output. */
  readonly maxConnectionMemory: number;
  /** Client connections open at once per router; one more is closed at once (REFUSED). 0: no limit. */
  readonly maxConnections: number;
  /** Time from accepting a connection to its whole client preface. */
  readonly prefaceTimeoutMs: number;
  /** Time a header block may take once begun, and a new connection to its first request (slowloris). */
  readonly headersTimeoutMs: number;
  /** A connection without streams this long is closed (GOAWAY NO_ERROR). 0: never. */
  readonly idleTimeoutMs: number;
  /** A connection older than this is drained (two-step GOAWAY) and closed. 0: never (gRPC's MAX_CONNECTION_AGE). */
  readonly maxConnectionAgeMs: number;
  /** Time calls of a connection being drained (max age, shutdown) get to finish before it is closed. */
  readonly drainGraceMs: number;
}

export const DEFAULT_LIMITS: H2Limits = {
  maxHeaderListSize: 64 * 1024,
  maxRefusedHeaderLists: 10,
  maxHeaderBlockBytes: 256 * 1024,
  maxContinuationFrames: 64,
  headerTableSize: 4096,
  maxConcurrentStreams: 1_000,
  maxOutboundFrames: 10_000,
  maxOutboundControlFrames: 1_000,
  maxConsecutiveEmptyFrames: 1,
  maxPriorityFramesPerStream: 100,
  maxWindowUpdatesPerDataFrame: 10,
  maxPrematureResets: 100,
  maxSettingsEntries: 32,
  maxConnectionMemory: 32 << 20,
  maxConnections: 10_000,
  prefaceTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  idleTimeoutMs: 300_000,
  maxConnectionAgeMs: 0,
  drainGraceMs: 30_000,
};

/** The limits' names, for settings and error messages. */
export const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as (keyof H2Limits)[];

/**
 * `DEFAULT_LIMITS` with `overrides`; throws naming the first bad one (every limit is a whole number ≥ 0,
 * the structural ones ≥ 1).
 */
export function h2Limits(overrides: Partial<Record<keyof H2Limits, number>> = {}): H2Limits {
  const out: Record<string, number> = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    if (!(name in DEFAULT_LIMITS)) throw new Error(`unknown HTTP/2 limit "${name}"`);
    const min = MAY_BE_ZERO.has(name) ? 0 : 1;
    if (!Number.isInteger(value) || value < min || value > 2 ** 31 - 1)
      throw new Error(`HTTP/2 limit ${name} must be a whole number from ${min} to 2147483647, got ${value}`);
    out[name] = value;
  }
  return out as unknown as H2Limits;
}

const MAY_BE_ZERO = new Set([
  'maxConnections',
  'idleTimeoutMs',
  'maxConnectionAgeMs',
  'drainGraceMs',
  'maxConsecutiveEmptyFrames',
]);
