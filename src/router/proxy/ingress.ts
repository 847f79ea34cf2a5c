import * as http2 from 'node:http2';
import type { Logger } from '../../observability/logger';
import type { RoutableEndpoint } from '../balancer/picker';
import { CircuitState } from '../resilience/circuit-breaker';
import { type EngineEntry, pickEndpoint, type RoutingState } from '../routing-state';
import { respondDegraded } from './degraded';
import type { ForwardOptions } from './call-options';
import { forward } from './forward';
import { hedge } from './hedged-call';
import { Status, respondError } from './grpc-status';
import type { UpstreamPool } from './upstream-pool';

export const ENGINE_HEADER = 'x-nerve-engine';
export const SESSION_HEADER = 'x-nerve-session';
export const PRIORITY_HEADER = 'x-nerve-priority';

/** x-nerve-priority: 0 (lowest) to 9 (highest); absent or malformed: 5. Queued calls go highest first. */
export function priorityOf(value: string | string[] | undefined): number {
  const n = typeof value === 'string' ? Number(value) : NaN;
  return Number.isInteger(n) && n >= 0 && n <= 9 ? n : 5;
}

/**
 * Picks the engine for a call, in order: the x-nerve-engine header, the :authority host (the engine name,
 * as Envoy matches virtual hosts), the service in :path when an engine's config lists it. Runs per call,
 * so it allocates nothing but the host string; `unresolvedReason` explains a miss.
 */
export function resolveEngine(state: RoutingState, headers: http2.IncomingHttpHeaders): string | undefined {
  const named = headers[ENGINE_HEADER];
  if (typeof named === 'string' && named !== '') return state.engine(named) ? named : undefined;
  const authority = headers[':authority'];
  if (typeof authority === 'string') {
    const end = authority.startsWith('[') ? authority.indexOf(']') + 1 : authority.indexOf(':');
    const engine = state.engineForAuthority(end > 0 ? authority.slice(0, end) : authority);
    if (engine) return engine;
  }
  const path = headers[':path'] ?? '';
  return state.engineForService(path.slice(1, path.lastIndexOf('/')));
}

/** Why `resolveEngine` found nothing, for the NOT_FOUND message. */
export function unresolvedReason(state: RoutingState, headers: http2.IncomingHttpHeaders): string {
  const named = headers[ENGINE_HEADER];
  if (typeof named === 'string' && named !== '')
    return `no engine "${named}" (from ${ENGINE_HEADER}); known: ${list(state)}`;
  return `no engine for ${headers[':path'] ?? ''} at authority "${headers[':authority'] ?? ''}": set ${ENGINE_HEADER}, use an engine name as the authority, or list the service in an engine's config; known engines: ${list(state)}`;
}

function list(state: RoutingState): string {
  const names = state.engineNames();
  return names.length === 0 ? '(none yet)' : names.slice(0, 20).join(', ') + (names.length > 20 ? ', …' : '');
}

/** The router's gRPC ingress: an HTTP/2 server that routes every stream to an engine instance. */
export class Ingress {
  readonly server: http2.Http2Server;
  private readonly sessions = new Set<http2.ServerHttp2Session>();

  constructor(
    private readonly state: RoutingState,
    private readonly pool: UpstreamPool,
    private readonly logger: Logger,
  ) {
    this.server = http2.createServer();
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers));
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.on('close', () => this.sessions.delete(session));
      session.on('error', () => undefined);
    });
  }

  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        const address = this.server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Stops accepting, lets calls in flight finish (GOAWAY), and resolves when all sessions closed or after graceMs. */
  close(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const s of this.sessions) s.destroy();
        resolve();
      }, graceMs);
      this.server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const s of this.sessions) s.close();
    });
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const contentType = headers['content-type'];
    if (
      headers[':method'] !== 'POST' ||
      typeof contentType !== 'string' ||
      !contentType.startsWith('application/grpc')
    ) {
      stream.on('error', () => undefined);
      stream.respond({ ':status': 415, 'content-type': 'text/plain' });
      stream.end('this port speaks gRPC: POST with content-type application/grpc\n');
      return;
    }
    const engine = resolveEngine(this.state, headers);
    if (engine === undefined) {
      respondError(stream, Status.NOT_FOUND, unresolvedReason(this.state, headers));
      return;
    }
    const admission = this.state.admission(engine);
    if (!admission) {
      // The route table can name an engine whose cluster has not arrived yet.
      respondError(stream, Status.NOT_FOUND, `no engine "${engine}" (routed there, but not configured yet)`);
      return;
    }
    if (admission.tryEnter()) {
      this.route(stream, headers, engine, 0, admission.release); // the common case: no closures
      return;
    }
    const withdraw = admission.admit(
      priorityOf(headers[PRIORITY_HEADER]),
      (waitedMs) => this.route(stream, headers, engine, waitedMs, admission.release),
      (message) => respondError(stream, Status.RESOURCE_EXHAUSTED, message),
    );
    if (admission.waiting > 0) stream.once('close', withdraw);
  }

  /** Picks an instance (from the config current now: a queued call may have waited) and forwards. */
  private route(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    engine: string,
    waitedMs: number,
    done: () => void,
  ): void {
    const session = headers[SESSION_HEADER];
    const key = typeof session === 'string' ? session : undefined;
    const entry = this.state.engine(engine);
    const endpoint = entry && !stream.closed ? pickFrom(entry, key) : undefined;
    if (entry && endpoint) this.send(stream, headers, entry, endpoint, waitedMs, done);
    else this.failover(stream, headers, engine, entry, key, waitedMs, done);
  }

  /**
   * Nothing of the engine can serve: its fallback engines, in order (not theirs in turn: no chains), then
   * its degraded response, then UNAVAILABLE naming every engine tried and why.
   */
  private failover(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    engine: string,
    entry: EngineEntry | undefined,
    key: string | undefined,
    waitedMs: number,
    done: () => void,
  ): void {
    const reasons = [entry ? whyNot(entry) : `engine "${engine}" was removed`];
    for (const name of entry?.cluster.policy?.fallbackEngines ?? []) {
      const fallback = this.state.engine(name);
      const endpoint = fallback && !stream.closed ? pickFrom(fallback, key) : undefined;
      if (fallback && endpoint) return this.send(stream, headers, fallback, endpoint, waitedMs, done);
      reasons.push(fallback ? whyNot(fallback) : `fallback engine "${name}" does not exist`);
    }
    done();
    if (entry?.degraded && respondDegraded(stream, headers[':path'] ?? '', entry.degraded)) {
      if (this.logger.isDebugEnabled()) this.logger.debug('degraded response', { engine, reasons });
      return;
    }
    if (!stream.closed) respondError(stream, Status.UNAVAILABLE, reasons.join('; '));
  }

  /** Carries the call to `endpoint` of `serving` (the engine, or one of its fallbacks): hedged or not. */
  private send(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    serving: EngineEntry,
    endpoint: RoutableEndpoint,
    waitedMs: number,
    done: () => void,
  ): void {
    const options: ForwardOptions = {
      defaultTimeoutMs: serving.defaultTimeoutMs,
      pool: this.pool,
      waitedMs,
      done,
      retry: serving.retry,
      eject: serving.eject,
      consecutiveErrors: serving.consecutiveErrors,
      engineBreaker: serving.breaker,
    };
    const hedging = serving.hedging;
    if (hedging !== undefined && hedging.applies(headers[':path'] ?? ''))
      hedge(stream, headers, endpoint, options, hedging);
    else forward(stream, headers, endpoint, options);
    if (this.logger.isDebugEnabled())
      this.logger.debug('routed', { engine: serving.cluster.name, instance: endpoint.id, waitedMs });
  }
}

/** An instance of the engine if its engine-wide circuit lets the call through (a probe permit when half-open). */
function pickFrom(entry: EngineEntry, key: string | undefined): RoutableEndpoint | undefined {
  if (!entry.breaker.tryAcquire()) return undefined;
  const endpoint = pickEndpoint(entry, key);
  if (!endpoint) entry.breaker.record('ignored', 0); // the permit goes back
  return endpoint;
}

function whyNot(entry: EngineEntry): string {
  const b = entry.breaker;
  if (!b.admits && b.state !== CircuitState.CIRCUIT_STATE_CLOSED)
    return `engine "${entry.cluster.name}" circuit is ${b.state === CircuitState.CIRCUIT_STATE_OPEN ? 'open' : 'half-open, probing'} (${b.reason})`;
  return entry.picker.reason;
}
