import { type Snapshot, servedType, type TypeSnapshot } from '../../model/snapshot';
import type { Any, DiscoveryRequest, DiscoveryResponse } from '../../protocol/ads';
import { allResources, resourceAny } from './resource-ttl';
import {
  applyAnswer,
  type BaseTypeState,
  inPushOrder,
  type StreamOptions,
  XdsProtocolError,
} from './stream-common';
import type { TypeStatus } from './stream-state';

export { XdsProtocolError } from './stream-common';

/** The names of a stream that names none (shared: never changed, replaced when names come). */
const NO_NAMES: ReadonlySet<string> = new Set();

interface TypeState extends BaseTypeState {
  /** name=version pairs of the last response: equal content is never sent twice in a row. */
  sentSignature: string | undefined;
}

export type SotwStreamOptions = StreamOptions<DiscoveryResponse>;

/**
 * The state-of-the-world protocol for one ADS stream, free of I/O (Envoy's "xDS REST and gRPC protocol"):
 * one outstanding response per type, answered by an ACK or a NACK carrying its nonce; requests carrying
 * an older nonce are stale and ignored; a NACKed version is not sent again, the next change is; names
 * requested before they exist are remembered and sent when they appear; nothing is pushed unless the
 * content for the client's subscription changed.
 */
export class SotwStream {
  private readonly types = new Map<string, TypeState>();
  /** Subscribed types in push order. */
  private order: string[] = [];
  private snapshot: Snapshot | undefined;
  private nonce = 0;

  constructor(private readonly options: SotwStreamOptions) {}

  handleRequest(request: DiscoveryRequest, snapshot: Snapshot): void {
    this.snapshot = snapshot;
    const typeUrl = request.type_url;
    if (!typeUrl) throw new XdsProtocolError('DiscoveryRequest.type_url is required on an aggregated stream');
    let state = this.types.get(typeUrl);
    const first = state === undefined;
    if (!state) {
      state = {
        wildcard: false,
        names: NO_NAMES,
        awaitingNonce: '',
        pending: false,
        sentVersion: '',
        sentSignature: undefined,
        ackedVersion: '',
        responses: 0,
      };
      this.types.set(typeUrl, state);
      this.order = inPushOrder(this.types.keys());
    }
    // A stale nonce answers a superseded response: the whole request is ignored (SotW).
    if (
      request.response_nonce !== '' &&
      !applyAnswer(
        state,
        typeUrl,
        request.response_nonce,
        request.error_detail,
        request.version_info,
        this.options,
      )
    )
      return;
    if (state.lostHeld) {
      state.lostHeld = false;
      state.sentSignature = undefined;
      state.pending = true;
    }
    const subscriptionChanged = this.updateSubscription(state, request.resource_names, first);
    if (first && this.alreadyHas(typeUrl, state, request)) return;
    if (first || subscriptionChanged || state.pending) this.push(typeUrl, state, first);
  }

  /**
   * A new snapshot is being served: push every type whose subscribed content changed, clusters before
   * endpoints before listeners before routes (make-before-break).
   */
  onSnapshot(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    for (const typeUrl of this.order) this.push(typeUrl, this.types.get(typeUrl)!, false);
  }

  /** Every subscribed type is held and ACKed as served (status()'s inSync, without building it). */
  inSync(): boolean {
    for (const [typeUrl, s] of this.types) if (!this.typeInSync(typeUrl, s)) return false;
    return true;
  }

  private typeInSync(typeUrl: string, s: TypeState): boolean {
    return (
      s.awaitingNonce === '' &&
      !s.pending &&
      s.ackedVersion === s.sentVersion &&
      this.selection(typeUrl, s, false).signature === s.sentSignature
    );
  }

  status(): TypeStatus[] {
    return [...this.types].map(([typeUrl, s]) => ({
      typeUrl,
      wildcard: s.wildcard,
      subscribed: [...s.names],
      sentVersion: s.sentVersion,
      ackedVersion: s.ackedVersion,
      nack: s.nack,
      responses: s.responses,
      inSync: this.typeInSync(typeUrl, s),
    }));
  }

  /**
   * Refreshes the TTL of what the client holds (Envoy's heartbeat): for each type served with a TTL and
   * in sync, a response at the same version whose resources have no body. A type with a response
   * outstanding is skipped: that response, or the next push, carries the TTL anew.
   */
  heartbeat(): void {
    for (const typeUrl of this.order) {
      const state = this.types.get(typeUrl)!;
      const typeSnapshot = this.typeSnapshot(typeUrl);
      if (typeSnapshot?.ttlMs === undefined || state.awaitingNonce !== '' || state.pending) continue;
      const { signature, resources } = this.selection(typeUrl, state, true, false);
      if (resources.length === 0 || signature !== state.sentSignature) continue;
      this.send(typeUrl, state, state.sentVersion, resources, true);
    }
  }

  private typeSnapshot(typeUrl: string): TypeSnapshot | undefined {
    return servedType(this.snapshot, typeUrl, this.options.ttl === true);
  }

  /**
   * What the client's subscription selects from the current snapshot, and its content signature;
   * `body` false: heartbeats of the resources.
   */
  private selection(
    typeUrl: string,
    state: TypeState,
    withResources: boolean,
    body = true,
  ): { signature: string; resources: Any[] } {
    const typeSnapshot = this.typeSnapshot(typeUrl);
    if (typeSnapshot && state.wildcard) {
      // Everything of the type: its version identifies the content, and the Any list is shared by streams.
      return {
        signature: `*${typeSnapshot.version}`,
        resources: withResources ? allResources(typeUrl, typeSnapshot, body) : [],
      };
    }
    let signature = '';
    const resources: Any[] = [];
    for (const name of state.names) {
      const r = typeSnapshot?.resources.get(name);
      if (!r) continue;
      signature += `${r.name}=${r.version};`;
      if (withResources) resources.push(resourceAny(typeUrl, typeSnapshot!, r, body));
    }
    return { signature, resources };
  }

  /**
   * A wildcard client that reconnects announcing the version being served (it moved from another
   * replica, or this one restarted) already has this content: nothing is sent until it changes, as
   * go-control-plane does. Versions are content digests, so this holds across replicas.
   */
  private alreadyHas(typeUrl: string, state: TypeState, request: DiscoveryRequest): boolean {
    const version = this.typeSnapshot(typeUrl)?.version;
    if (!state.wildcard || request.response_nonce !== '' || !version || request.version_info !== version)
      return false;
    state.sentVersion = version;
    state.ackedVersion = version;
    state.sentSignature = this.selection(typeUrl, state, false).signature;
    return true;
  }

  private updateSubscription(state: TypeState, names: readonly string[], first: boolean): boolean {
    const wildcard = names.includes('*') || (names.length === 0 && (first || state.wildcard));
    const explicit = names.length === 0 ? names : names.filter((n) => n !== '*');
    const changed =
      wildcard !== state.wildcard ||
      explicit.length !== state.names.size ||
      explicit.some((n) => !state.names.has(n));
    state.wildcard = wildcard;
    // A request that names what the stream already has (every ACK) keeps the set it has: a wildcard
    // stream holds the shared empty one for its life.
    if (changed) state.names = explicit.length === 0 ? NO_NAMES : new Set(explicit);
    return changed;
  }

  private push(typeUrl: string, state: TypeState, force: boolean): void {
    if (state.awaitingNonce !== '') {
      state.pending = true; // flow control: wait for the client to answer the outstanding response
      return;
    }
    state.pending = false;
    const typeSnapshot = this.typeSnapshot(typeUrl);
    if (!typeSnapshot && !force) return;
    const { signature, resources } = this.selection(typeUrl, state, true);
    if (!force && signature === state.sentSignature) return;
    state.sentSignature = signature;
    this.send(typeUrl, state, typeSnapshot?.version ?? '', resources, false);
  }

  private send(
    typeUrl: string,
    state: TypeState,
    version: string,
    resources: Any[],
    heartbeat: boolean,
  ): void {
    const nonce = String(++this.nonce);
    state.heartbeat = heartbeat;
    state.awaitingNonce = nonce;
    state.sentVersion = version;
    state.responses++;
    this.options.send({
      version_info: version,
      resources,
      type_url: typeUrl,
      nonce,
      control_plane: { identifier: this.options.controlPlaneId },
    });
  }
}
