import type { Logger } from '../../observability/logger';
import type { DiscoveryRequest, DiscoveryResponse, Node } from '../../protocol/ads-types';
import { openAdsStream } from './ads-codec';
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
  connected = false;

  constructor(private readonly options: AdsClientOptions) {
    for (const t of options.types)
      this.states.set(t.typeUrl, { acceptedVersion: '', updates: 0, rejected: 0 });
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
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
    try {
      resources = response.resources.map((any, i) => {
        if (any.type_url !== type.typeUrl)
          throw new Error(`resource ${i} has type ${any.type_url}, expected ${type.typeUrl}`);
        return type.decode(any.value);
      });
      error = type.validate(resources);
    } catch (err) {
      error = `cannot decode ${type.typeUrl}: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (error === undefined) {
      type.apply(resources);
      state.acceptedVersion = response.version_info;
      state.updates++;
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
