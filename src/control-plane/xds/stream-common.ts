import { PUSH_ORDER } from '../../protocol/type-urls';

/** A protocol violation by the client; the server closes the stream with INVALID_ARGUMENT. */
export class XdsProtocolError extends Error {}

export interface StreamOptions<Response> {
  send(response: Response): void;
  now(): number;
  controlPlaneId: string;
  /**
   * The client declared `xds.config.supports-resource-ttl`: it is served the snapshot's TTL variant
   * (base clusters, overrides that expire) and heartbeats.
   */
  ttl?: boolean;
  /** Called on every NACK, for logs and metrics. */
  onNack?(typeUrl: string, version: string, error: string): void;
  /** Called on every ACK, for metrics. */
  onAck?(typeUrl: string, version: string): void;
}

/** What both protocols track of one type on one stream. */
export interface BaseTypeState {
  wildcard: boolean;
  names: ReadonlySet<string>;
  /** Nonce of the response the client has not answered yet, or '' when none is outstanding. */
  awaitingNonce: string;
  /** A newer snapshot arrived while a response was outstanding. */
  pending: boolean;
  sentVersion: string;
  ackedVersion: string;
  nack?: { version: string; error: string; atMs: number };
  responses: number;
  /** The outstanding response is a heartbeat: its ACK says nothing new (no ACK metrics). */
  heartbeat?: boolean;
  /** A heartbeat was refused: the client must be sent the resources again. */
  lostHeld?: boolean;
}

/** Types in make-before-break order (PUSH_ORDER); types Nerve does not know go last. */
export function inPushOrder(types: Iterable<string>): string[] {
  const rank = (t: string) => {
    const i = PUSH_ORDER.indexOf(t);
    return i < 0 ? PUSH_ORDER.length : i;
  };
  return [...types].sort((a, b) => rank(a) - rank(b));
}

/**
 * Applies a request's answer to the outstanding response: only the current nonce counts (a stale one is
 * ignored); an error_detail is a NACK of the version sent, anything else an ACK of `ackedVersion`.
 * Returns false for a stale or absent nonce.
 */
export function applyAnswer(
  state: BaseTypeState,
  typeUrl: string,
  nonce: string,
  errorDetail: { code: number; message: string } | null,
  ackedVersion: string,
  options: StreamOptions<unknown>,
): boolean {
  if (nonce === '' || nonce !== state.awaitingNonce) return false;
  state.awaitingNonce = '';
  if (state.heartbeat && errorDetail) {
    // The client no longer holds what the heartbeat refreshed (it expired): not a rejected config. The
    // next push sends the resources again, bodies and all.
    state.lostHeld = true;
    return true;
  }
  if (errorDetail) {
    const error = errorDetail.message || `code ${errorDetail.code}`;
    state.nack = { version: state.sentVersion, error, atMs: options.now() };
    options.onNack?.(typeUrl, state.sentVersion, error);
  } else {
    state.ackedVersion = ackedVersion;
    if (!state.heartbeat) options.onAck?.(typeUrl, ackedVersion);
  }
  return true;
}
