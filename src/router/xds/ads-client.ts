import type { Logger } from '../../observability/logger';
import type { DiscoveryRequest, DiscoveryResponse, Node } from '../../protocol/ads-types';
import { decodeWrappedResource, openAdsStream } from './ads-codec';
import { ExpiringResources, type WrappedEntry } from './expiring-resources';
import { RESOURCE_WRAPPER_TYPE } from '../../protocol/type-urls';
import type { ClientCredentials } from '../../security/tls-files';
import type { GrpcBidiStream } from '../control/grpc-stream';
import { DEFAULT_KEEPALIVE, type Keepalive } from '../net/keepalive';
import { Backoff } from '../net/backoff';
import { StreamRetry } from '../control/stream-retry';
import type { ResourceType } from '../resources/resource-type';

const INVALID_ARGUMENT = 3;

export interface AdsClientOptions {
  /** Control-plane addresses, tried in turn. */
  readonly addresses: readonly string[];
  readonly node: Node;
  readonly logger: Logger;
  readonly types: readonly ResourceType<unknown>[];
  readonly onConnected?: (address: string) => void;
  readonly keepalive?: Keepalive;
  /** Token and TLS to the control plane. */
  readonly credentials?: ClientCredentials;
}

/** Status of one subscribed type, for the router's admin page and tests. */
export interface TypeState {
  acceptedVersion: string;
  lastNack?: { version: string; error: string };
  updates: number;
  rejected: number;
  /** Heartbeats that refreshed the TTL of what this router holds. */
  heartbeats: number;
  /** Resources held with a TTL now, and those that expired (the control plane went quiet for their TTL). */
  expiring: number;
  expired: number;
}

/** One type's accepted resources, as applied: a wrapped resource's name lets it expire alone. */
interface Applied {
  readonly names: readonly (string | undefined)[];
  readonly values: readonly unknown[];
}

/**
 * The router's ADS client (state of the world, wildcard subscriptions). Every response is validated whole
 * and ACKed or NACKed with a precise reason; a NACKed response changes nothing. On any stream failure it
 * reconnects with backoff, to the next listed control plane, announcing the versions it already has.
 */
export class AdsClient {
  /** Why the last stream failed (a refusal says why: credentials, node identity), for the admin page and tests. */
  lastError: string | undefined;
  readonly states = new Map<string, TypeState>();
  private stream: GrpcBidiStream<DiscoveryRequest, DiscoveryResponse> | undefined;
  private next = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly retries = new StreamRetry(new Backoff());
  private readonly expiring = new Map<string, ExpiringResources<unknown>>();
  private readonly applied = new Map<string, Applied>();
  connected = false;

  constructor(private readonly options: AdsClientOptions) {
    for (const t of options.types) {
      this.states.set(t.typeUrl, {
        acceptedVersion: '',
        updates: 0,
        rejected: 0,
        heartbeats: 0,
        expiring: 0,
        expired: 0,
      });
      this.expiring.set(t.typeUrl, new ExpiringResources((name) => this.expired(t, name)));
    }
  }

  /**
   * A resource's TTL ran out: the control planes said nothing of it for that long, so it goes, and the
   * type is applied without it (an engine's overrides gone: it routes by its base configuration). The
   * type's version no longer describes what is held: the next stream asks for everything.
   */
  private expired(type: ResourceType<unknown>, name: string): void {
    const state = this.states.get(type.typeUrl)!;
    const applied = this.applied.get(type.typeUrl);
    state.expired++;
    state.expiring = this.expiring.get(type.typeUrl)!.size;
    state.acceptedVersion = '';
    this.options.logger.warn('xDS resource expired: no control plane refreshed it within its TTL', {
      typeUrl: type.typeUrl,
      name,
    });
    if (!applied) return;
    const keep = applied.names.map((n) => n !== name);
    const next = {
      names: applied.names.filter((_, i) => keep[i]),
      values: applied.values.filter((_, i) => keep[i]),
    };
    this.applied.set(type.typeUrl, next);
    type.apply(next.values);
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    for (const e of this.expiring.values()) e.stop();
    this.stream?.close();
  }

  private connect(): void {
    if (this.stopped) return;
    const address = this.options.addresses[this.next++ % this.options.addresses.length];
    this.stream?.close();
    const stream = (this.stream = openAdsStream(
      address,
      this.options.keepalive ?? DEFAULT_KEEPALIVE,
      this.options.credentials,
    ));
    let failed = false;
    const retry = (why: string, code?: number) => {
      if (failed || this.stopped) return;
      failed = true;
      const wasUp = this.connected;
      this.connected = false;
      this.lastError = why;
      const { delayMs, news, refused } = this.retries.failed(code, why);
      const fields = { address, error: why, retryInMs: delayMs };
      if (refused)
        this.options.logger.log(news ? 'error' : 'debug', 'xDS stream refused by the control plane', fields);
      else this.options.logger.log(news || wasUp ? 'warn' : 'debug', 'xDS stream lost; reconnecting', fields);
      this.timer = setTimeout(() => this.connect(), delayMs);
    };
    // Up once the control plane accepted the stream: its headers (sent once it checked the credentials
    // and node, so a router that already holds the served versions knows it is connected though
    // nothing is pushed) or its first response.
    const up = () => {
      if (this.connected || failed) return;
      this.connected = true;
      this.retries.accepted();
      this.options.logger.info('xDS stream established', { address });
      this.options.onConnected?.(address);
    };
    stream.on('headers', up);
    stream.on('data', (response: DiscoveryResponse) => {
      up();
      this.handle(stream, response);
    });
    stream.on('error', (err) => retry(err.message, err.code));
    stream.on('end', () => retry('stream ended by the control plane'));
    for (const t of this.options.types) stream.write(this.request(t.typeUrl, ''));
  }

  private request(typeUrl: string, nonce: string, error?: string): DiscoveryRequest {
    return {
      version_info: this.states.get(typeUrl)?.acceptedVersion ?? '',
      node: this.options.node,
      resource_names: [],
      type_url: typeUrl,
      response_nonce: nonce,
      error_detail: error === undefined ? null : { code: INVALID_ARGUMENT, message: error },
    };
  }

  private handle(
    stream: GrpcBidiStream<DiscoveryRequest, DiscoveryResponse>,
    response: DiscoveryResponse,
  ): void {
    const type = this.options.types.find((t) => t.typeUrl === response.type_url);
    const state = this.states.get(response.type_url);
    if (!type || !state) {
      stream.write(this.request(response.type_url, response.nonce, `unsubscribed type ${response.type_url}`));
      return;
    }
    let error: string | undefined;
    let resources: unknown[] = [];
    const names: (string | undefined)[] = [];
    const wrapped: WrappedEntry<unknown>[] = [];
    const expiring = this.expiring.get(type.typeUrl)!;
    try {
      resources = response.resources.map((any, i) => {
        if (any.type_url !== RESOURCE_WRAPPER_TYPE) {
          if (any.type_url !== type.typeUrl)
            throw new Error(`resource ${i} has type ${any.type_url}, expected ${type.typeUrl}`);
          names.push(undefined);
          return type.decode(any.value);
        }
        // With a TTL: a body is the resource, none is a heartbeat of the version held.
        const w = decodeWrappedResource(any.value);
        if (!w.name) throw new Error(`wrapped resource ${i} has no name`);
        let value: unknown;
        if (w.resource === undefined) {
          value = expiring.heldAt(w.name, w.version);
          if (value === undefined)
            throw new Error(
              `heartbeat for "${w.name}" at version ${w.version}, which this router does not hold`,
            );
        } else if (w.resource.type_url !== type.typeUrl) {
          throw new Error(
            `wrapped resource "${w.name}" has type ${w.resource.type_url}, expected ${type.typeUrl}`,
          );
        } else value = type.decode(w.resource.value);
        names.push(w.name);
        wrapped.push({ name: w.name, version: w.version, value, ttlMs: w.ttlMs });
        return value;
      });
      error = type.validate(resources);
    } catch (err) {
      error = `cannot decode ${type.typeUrl}: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (error === undefined) {
      const heartbeatOnly =
        !expiring.accept(wrapped) && wrapped.length === resources.length && wrapped.length > 0;
      state.expiring = expiring.size;
      if (heartbeatOnly && state.acceptedVersion === response.version_info) state.heartbeats++;
      else {
        this.applied.set(type.typeUrl, { names, values: resources });
        type.apply(resources);
        state.updates++;
      }
      state.acceptedVersion = response.version_info;
    } else {
      state.lastNack = { version: response.version_info, error };
      state.rejected++;
      this.options.logger.warn('rejected xDS update; keeping the last good config', {
        typeUrl: type.typeUrl,
        version: response.version_info,
        error,
      });
    }
    stream.write(this.request(type.typeUrl, response.nonce, error));
  }
}
