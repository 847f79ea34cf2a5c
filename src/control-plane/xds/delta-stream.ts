import { type Snapshot, servedType, type TypeSnapshot } from '../../model/snapshot';
import type { DeltaDiscoveryRequest, DeltaDiscoveryResponse, DeltaResource } from '../../protocol/ads';
import {
  applyAnswer,
  type BaseTypeState,
  inPushOrder,
  type StreamOptions,
  XdsProtocolError,
} from './stream-common';
import type { TypeStatus } from './stream-state';

interface TypeState extends BaseTypeState {
  /** Changed in place by each request's subscribe and unsubscribe lists. */
  names: Set<string>;
  /** What the client holds: resource name → version (from initial_resource_versions, then what we sent). */
  known: Map<string, string>;
}

export type DeltaStreamOptions = StreamOptions<DeltaDiscoveryResponse>;

/**
 * The incremental (delta) protocol for one stream, free of I/O: only resources whose version differs from
 * what the client holds are sent, with per-resource versions, and deletions as removed_resources. A client
 * that reconnects announces what it holds in initial_resource_versions and gets only what changed.
 * (Un)subscriptions are honoured even on a request with a stale nonce; ACK/NACK only with the current
 * nonce. What a client NACKed counts as held, so it is not resent until it changes again.
 */
export class DeltaStream {
  private readonly types = new Map<string, TypeState>();
  private order: string[] = [];
  private snapshot: Snapshot | undefined;
  private nonce = 0;

  constructor(private readonly options: DeltaStreamOptions) {}

  handleRequest(request: DeltaDiscoveryRequest, snapshot: Snapshot): void {
    this.snapshot = snapshot;
    const typeUrl = request.type_url;
    if (!typeUrl)
      throw new XdsProtocolError('DeltaDiscoveryRequest.type_url is required on an aggregated stream');
    let state = this.types.get(typeUrl);
    if (!state) {
      const subscribe = request.resource_names_subscribe;
      state = {
        wildcard: subscribe.length === 0 || subscribe.includes('*'),
        names: new Set(),
        known: new Map(Object.entries(request.initial_resource_versions ?? {})),
        awaitingNonce: '',
        pending: false,
        sentVersion: '',
        ackedVersion: '',
        responses: 0,
      };
      this.types.set(typeUrl, state);
      this.order = inPushOrder(this.types.keys());
    }
    for (const name of request.resource_names_subscribe) {
      if (name === '*') state.wildcard = true;
      else state.names.add(name);
    }
    for (const name of request.resource_names_unsubscribe) {
      if (name === '*') state.wildcard = false;
      else {
        state.names.delete(name);
        state.known.delete(name);
      }
    }
    // Delta: a stale nonce still carries (un)subscriptions, applied above; only the answer is ignored.
    applyAnswer(
      state,
      typeUrl,
      request.response_nonce,
      request.error_detail,
      state.sentVersion,
      this.options,
    );
    if (state.lostHeld) {
      // What the heartbeat named is gone from the client: it holds none of the type's TTL resources now.
      state.lostHeld = false;
      const ts = this.typeSnapshot(typeUrl);
      for (const name of [...state.known.keys()]) if (ts?.resources.has(name)) state.known.delete(name);
    }
    this.push(typeUrl, state);
  }

  onSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    for (const typeUrl of this.order) this.push(typeUrl, this.types.get(typeUrl)!);
  }

  /**
   * Refreshes the TTL of what the client holds (Envoy's heartbeat): for each type served with a TTL and
   * in sync, its resources at the versions the client holds, without bodies.
   */
  heartbeat(): void {
    for (const typeUrl of this.order) {
      const state = this.types.get(typeUrl)!;
      const ts = this.typeSnapshot(typeUrl);
      if (ts?.ttlMs === undefined || state.awaitingNonce !== '' || state.pending) continue;
      const diff = this.diff(typeUrl, state, false);
      if (diff.updates.length > 0 || diff.removed.length > 0 || state.known.size === 0) continue;
      const ttl = duration(ts.ttlMs);
      const resources = [...state.known].map(([name, version]) => ({ name, version, ttl }));
      this.send(typeUrl, state, resources, [], true);
    }
  }

  private typeSnapshot(typeUrl: string): TypeSnapshot | undefined {
    return servedType(this.snapshot, typeUrl, this.options.ttl === true);
  }

  /** Every subscribed type is held and ACKed as served (status()'s inSync, without building it). */
  inSync(): boolean {
    for (const [typeUrl, s] of this.types) if (!this.typeInSync(typeUrl, s)) return false;
    return true;
  }

  private typeInSync(typeUrl: string, s: TypeState): boolean {
    if (s.awaitingNonce !== '' || s.pending || s.ackedVersion !== s.sentVersion) return false;
    const diff = this.diff(typeUrl, s, false);
    return diff.updates.length === 0 && diff.removed.length === 0;
  }

  status(): TypeStatus[] {
    return [...this.types].map(([typeUrl, s]) => {
      return {
        typeUrl,
        wildcard: s.wildcard,
        subscribed: [...s.names],
        sentVersion: s.sentVersion,
        ackedVersion: s.ackedVersion,
        nack: s.nack,
        responses: s.responses,
        inSync: this.typeInSync(typeUrl, s),
      };
    });
  }

  /** What the client lacks (new or changed versions) and holds but should not (deleted or out of scope). */
  private diff(
    typeUrl: string,
    state: TypeState,
    withBodies: boolean,
  ): { updates: DeltaResource[]; removed: string[] } {
    const ts = this.typeSnapshot(typeUrl);
    const resources = ts?.resources;
    const ttl = ts?.ttlMs === undefined ? undefined : duration(ts.ttlMs);
    const updates: DeltaResource[] = [];
    const removed: string[] = [];
    const consider = (name: string) => {
      const r = resources?.get(name);
      if (r && state.known.get(name) !== r.version) {
        updates.push({
          name,
          version: r.version,
          resource: withBodies
            ? { type_url: typeUrl, value: r.body as Buffer }
            : { type_url: typeUrl, value: Buffer.alloc(0) },
          ...(ttl && { ttl }),
        });
      }
    };
    if (state.wildcard && resources) for (const name of resources.keys()) consider(name);
    for (const name of state.names) if (!(state.wildcard && resources?.has(name))) consider(name);
    for (const name of state.known.keys()) {
      const inScope = state.wildcard || state.names.has(name);
      if (!resources?.has(name) || !inScope) removed.push(name);
    }
    return { updates, removed };
  }

  private push(typeUrl: string, state: TypeState): void {
    if (state.awaitingNonce !== '') {
      state.pending = true;
      return;
    }
    state.pending = false;
    const { updates, removed } = this.diff(typeUrl, state, true);
    if (updates.length === 0 && removed.length === 0) return;
    for (const u of updates) state.known.set(u.name, u.version);
    for (const name of removed) state.known.delete(name);
    this.send(typeUrl, state, updates, removed, false);
  }

  private send(
    typeUrl: string,
    state: TypeState,
    resources: DeltaResource[],
    removed: string[],
    heartbeat: boolean,
  ): void {
    const nonce = String(++this.nonce);
    state.heartbeat = heartbeat;
    const version = this.typeSnapshot(typeUrl)?.version ?? '';
    state.awaitingNonce = nonce;
    state.sentVersion = version;
    state.responses++;
    this.options.send({
      system_version_info: version,
      resources,
      type_url: typeUrl,
      removed_resources: removed,
      nonce,
      control_plane: { identifier: this.options.controlPlaneId },
    });
  }
}

function duration(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 };
}
