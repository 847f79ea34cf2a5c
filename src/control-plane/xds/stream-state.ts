/** What one xDS stream has been sent and has answered, per type: the status operators read. */
export interface TypeStatus {
  readonly typeUrl: string;
  readonly wildcard: boolean;
  readonly subscribed: readonly string[];
  readonly sentVersion: string;
  readonly ackedVersion: string;
  readonly nack?: { readonly version: string; readonly error: string; readonly atMs: number };
  /** Responses sent for this type on this stream. */
  readonly responses: number;
  /** The client holds and has ACKed exactly what its subscription selects from the served snapshot. */
  readonly inSync: boolean;
}

export interface StreamStatus {
  readonly nodeId: string;
  readonly peer: string;
  readonly connectedAtMs: number;
  /** It supports resource TTLs, so it is served the snapshot's TTL variant. */
  readonly ttl?: boolean;
  readonly types: readonly TypeStatus[];
}
