import { Buffer } from 'node:buffer';
import type { ConnectionStats } from '../../protocol/h2/connection-stats';
import { DEFAULT_LIMITS, type H2Limits } from '../../protocol/h2/limits';
import { H2Server } from '../../protocol/h2/server';
import type { TlsFiles } from '../../security/tls-files';
import type { H2Stream } from '../../protocol/h2/stream';
import type { Logger } from '../../observability/logger';
import { logLevels } from '../../observability/log-levels';
import type { RoutableEndpoint } from '../balancer/picker';
import { CircuitState } from '../resilience/circuit-breaker';
import type { Admission } from '../resilience/admission';
import { type EngineEntry, pickEndpoint, type RoutingState } from './routing-state';
import { respondDegraded } from './degraded';
import type { ForwardOptions } from './call-options';
import { forward } from './forward';
import { hedge } from './hedged-call';
import { Status, respondError } from './grpc-status';
import { type HeaderList, headerValue } from '../http/headers';
import type { UpstreamPool } from './upstream-pool';
import { cacheable } from '../cache/cache-key';
import { serveCached } from '../cache/cached-call';
import type { CallTracer } from '../tracing/call-tracer';
import { HealthStatus } from '../../../gen/nerve/discovery/v1/resources';
import { ColdStartHolds } from './cold-start';
import type { CanaryRouting } from '../canary/canary-routing';
import { MirrorCopy } from '../canary/mirror-copy';

export const ENGINE_HEADER = 'x-nerve-engine';
export const SESSION_HEADER = 'x-nerve-session';
export const PRIORITY_HEADER = 'x-nerve-priority';

/** x-nerve-priority: 0 (lowest) to 9 (highest); absent or malformed: 5. Queued calls go highest first. */
export function priorityOf(value: string | undefined): number {
  const n = value === undefined ? NaN : Number(value);
  return Number.isInteger(n) && n >= 0 && n <= 9 ? n : 5;
}

/**
 * Picks the engine for a call, in order: the x-nerve-engine header, the :authority host (the engine name,
 * as Envoy matches virtual hosts), the service in :path when an engine's config lists it. Runs per call,
 * so it allocates nothing but the host string; `unresolvedReason` explains a miss.
 */
export function resolveEngine(state: RoutingState, headers: HeaderList): string | undefined {
  const named = headerValue(headers, ENGINE_HEADER);
  if (named !== undefined && named !== '') return state.engine(named) ? named : undefined;
  const authority = headerValue(headers, ':authority');
  if (authority !== undefined) {
    const end = authority.startsWith('[') ? authority.indexOf(']') + 1 : authority.indexOf(':');
    const engine = state.engineForAuthority(end > 0 ? authority.slice(0, end) : authority);
    if (engine) return engine;
  }
  const path = headerValue(headers, ':path') ?? '';
  return state.engineForService(path.slice(1, path.lastIndexOf('/')));
}

/** Why `resolveEngine` found nothing, for the NOT_FOUND message. */
export function unresolvedReason(state: RoutingState, headers: HeaderList): string {
  const named = headerValue(headers, ENGINE_HEADER);
  if (named !== undefined && named !== '')
    return `no engine "${named}" (from ${ENGINE_HEADER}); known: ${list(state)}`;
  return `no engine for ${headerValue(headers, ':path') ?? ''} at authority "${headerValue(headers, ':authority') ?? ''}": set ${ENGINE_HEADER}, use an engine name as the authority, or list the service in an engine's config; known engines: ${list(state)}`;
}

function list(state: RoutingState): string {
  const names = state.engineNames();
  return names.length === 0 ? '(none yet)' : names.slice(0, 20).join(', ') + (names.length > 20 ? ', …' : '');
}

/** A request header list routed, what it resolved to, and under which routing generation. */
interface LastRequest {
  readonly headers: HeaderList;
  readonly generation: number;
  readonly engine: string;
  readonly admission: Admission;
  readonly entry: EngineEntry | undefined;
  /** Whether these headers match the entry's canary rules: -1 not asked yet, 0 no, 1 yes. */
  canaryMatch: number;
}

/** The router's gRPC ingress: an HTTP/2 server (the router's own framing) routing every stream to an engine instance. */
export class Ingress {
  private readonly h2: H2Server;
  /** Forwarding options per engine entry (a new config makes new entries: stale ones are collected). */
  private readonly options = new WeakMap<EngineEntry, ForwardOptions>();
  /**
   * The last request header list routed, and its engine under that routing generation: a client's calls
   * repeat one list object (the HPACK decoder reuses it for identical blocks), checked and resolved once.
   */
  private last: LastRequest | undefined;
  /** Per-call debug lines: asking winston costs ~2 µs a call, so the answer is kept and renewed on a level change. */
  private debug: boolean;
  /** Calls held for engines scaling from zero; `onDemand` hears of the first one held per engine. */
  readonly holds: ColdStartHolds;
  onDemand: (engine: string) => void = () => undefined;

  constructor(
    private readonly state: RoutingState,
    private readonly pool: UpstreamPool,
    private readonly logger: Logger,
    limits: H2Limits = DEFAULT_LIMITS,
    tls?: TlsFiles,
    private readonly tracer?: CallTracer,
  ) {
    this.holds = new ColdStartHolds((engine) => {
      logger.info('holding calls for an engine scaling from zero', { engine });
      this.onDemand(engine);
    });
    this.debug = logger.isDebugEnabled();
    logLevels.onChange(logger, () => (this.debug = logger.isDebugEnabled()));
    this.h2 = new H2Server(
      (stream) => this.onStream(stream),
      (err) => logger.error('internal error handling a client connection; closed it', { error: err.stack }),
      limits,
      tls && {
        files: tls,
        onReloadError: (err) =>
          logger.error('ingress TLS certificates not reloaded: keeping the previous ones', {
            error: err.message,
          }),
      },
    );
  }

  /** Counters of client connections (open, opened, malformed requests, connection errors). */
  get stats(): ConnectionStats {
    return this.h2.stats;
  }

  listen(host: string, port: number): Promise<number> {
    const server = this.h2.server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        const address = server.address();
        resolve(typeof address === 'object' && address ? address.port : port);
      });
    });
  }

  /** Stops accepting, lets calls in flight finish (GOAWAY), and resolves when all connections closed or after graceMs. */
  close(graceMs: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        for (const c of this.h2.connections) c.destroy('router shutting down');
        resolve();
      }, graceMs);
      void this.h2.close().then(() => {
        clearTimeout(timer);
        resolve();
      });
      for (const c of this.h2.connections) c.close();
    });
  }

  private onStream(stream: H2Stream): void {
    const headers = stream.headers;
    let last = this.last;
    if (last === undefined || headers !== last.headers || this.state.generation !== last.generation) {
      const engine = this.engineFor(stream);
      if (engine === undefined) return;
      const admission = this.state.admission(engine);
      if (!admission) {
        // The route table can name an engine whose cluster has not arrived yet.
        respondError(
          stream,
          Status.NOT_FOUND,
          `no engine "${engine}" (routed there, but not configured yet)`,
        );
        return;
      }
      const generation = this.state.generation;
      const entry = this.state.engine(engine);
      last = this.last = { headers, generation, engine, admission, entry, canaryMatch: -1 };
    }
    const { engine, admission } = last;
    if (this.tracer !== undefined) this.tracer.begin(stream, engine);
    const cache = last.entry?.cache;
    if (cache !== undefined && cacheable(cache.policy, headers)) {
      // Answered from the cache, joined to an identical call, or dispatched as a stand-in stream. No
      // closure here: one would make every call of this function allocate its context.
      serveCached(stream, cache, this, engine, admission);
      return;
    }
    this.dispatch(stream, engine, admission);
  }

  /** Admits a call to its engine (at once, or queued by priority) and routes it. */
  dispatch(stream: H2Stream, engine: string, admission: Admission): void {
    const headers = stream.headers;
    if (admission.tryEnter()) {
      this.route(stream, engine, 0, admission.release); // the common case: no closures
      return;
    }
    const withdraw = admission.admit(
      priorityOf(headerValue(headers, PRIORITY_HEADER)),
      (waitedMs) => this.route(stream, engine, waitedMs, admission.release),
      (message) => respondError(stream, Status.RESOURCE_EXHAUSTED, message),
    );
    if (admission.waiting > 0 && !stream.closed) stream.onGoneEarly = withdraw;
  }

  /** The engine a gRPC request goes to; undefined when it was answered here (not gRPC, no such engine). */
  private engineFor(stream: H2Stream): string | undefined {
    const headers = stream.headers;
    const contentType = headerValue(headers, 'content-type');
    if (
      headerValue(headers, ':method') !== 'POST' ||
      contentType === undefined ||
      !contentType.startsWith('application/grpc')
    ) {
      stream.respond(NOT_GRPC, false);
      stream.write(NOT_GRPC_BODY);
      stream.end();
      return undefined;
    }
    const engine = resolveEngine(this.state, headers);
    if (engine === undefined) respondError(stream, Status.NOT_FOUND, unresolvedReason(this.state, headers));
    return engine;
  }

  /** Picks an instance (from the config current now: a queued call may have waited) and forwards. */
  private route(stream: H2Stream, engine: string, waitedMs: number, done: () => void): void {
    const key = headerValue(stream.headers, SESSION_HEADER);
    const last = this.last;
    const current = last !== undefined && last.engine === engine && last.generation === this.state.generation;
    const entry = current ? last.entry : this.state.engine(engine);
    const endpoint =
      entry === undefined || stream.closed
        ? undefined
        : entry.canary === undefined
          ? pickFrom(entry, key)
          : pickRouted(
              entry,
              entry.canary,
              matchesCanary(entry.canary, stream.headers, current ? last : undefined),
              key,
            );
    if (entry && endpoint) this.send(stream, entry, endpoint, waitedMs, done);
    else if (entry?.cluster.coldStart && !stream.closed && !hasInstance(entry))
      this.holdCold(stream, engine, entry, waitedMs, done);
    else this.failover(stream, engine, entry, key, waitedMs, done);
  }

  /** The engine scales from zero and has no instance: the call waits for one (bounded). */
  private holdCold(
    stream: H2Stream,
    engine: string,
    entry: EngineEntry,
    waitedMs: number,
    done: () => void,
  ): void {
    const withdraw = this.holds.hold(
      engine,
      entry.cluster.coldStart!,
      (heldMs) => {
        if (stream.closed) return done();
        const now = this.state.engine(engine);
        const endpoint = now ? pickFrom(now, headerValue(stream.headers, SESSION_HEADER)) : undefined;
        if (now && endpoint) this.send(stream, now, endpoint, waitedMs + heldMs, done, true);
        else this.failover(stream, engine, now, undefined, waitedMs + heldMs, done);
      },
      (message) => {
        done();
        if (!stream.closed) respondError(stream, Status.UNAVAILABLE, message);
      },
    );
    if (!stream.closed)
      stream.onGoneEarly = () => {
        withdraw();
        done();
      };
  }

  /** After a configuration change: held calls of engines that have an instance now go out. */
  releaseHeld(): void {
    for (const engine of this.holds.engines()) {
      const entry = this.state.engine(engine);
      if (!entry) this.holds.drop(engine, `engine "${engine}" was removed while calls waited for it`);
      else if (!entry.cluster.coldStart)
        this.holds.drop(engine, `engine "${engine}" no longer scales from zero`);
      else if (hasInstance(entry)) this.holds.release(engine);
    }
  }

  /**
   * Nothing of the engine can serve: its fallback engines, in order (not theirs in turn: no chains), then
   * its degraded response, then UNAVAILABLE naming every engine tried and why.
   */
  private failover(
    stream: H2Stream,
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
      if (fallback && endpoint) return this.send(stream, fallback, endpoint, waitedMs, done);
      reasons.push(fallback ? whyNot(fallback) : `fallback engine "${name}" does not exist`);
    }
    done();
    const path = headerValue(stream.headers, ':path') ?? '';
    if (entry?.degraded && respondDegraded(stream, path, entry.degraded)) {
      if (this.debug) this.logger.debug('degraded response', { engine, reasons });
      return;
    }
    if (!stream.closed) respondError(stream, Status.UNAVAILABLE, reasons.join('; '));
  }

  /** Carries the call to `endpoint` of `serving` (the engine, or one of its fallbacks): hedged or not. */
  private send(
    stream: H2Stream,
    serving: EngineEntry,
    endpoint: RoutableEndpoint,
    waitedMs: number,
    done: () => void,
    coldStart = false,
  ): void {
    // The common case — not queued, served by the engine it was admitted to — shares one options object
    // per engine config; a queued call or a fallback gets its own.
    let options = waitedMs === 0 ? this.options.get(serving) : undefined;
    if (options === undefined || options.done !== done || coldStart) {
      options = {
        defaultTimeoutMs: serving.defaultTimeoutMs,
        pool: this.pool,
        waitedMs,
        done,
        retry: serving.retry,
        eject: serving.eject,
        consecutiveErrors: serving.consecutiveErrors,
        engineBreaker: serving.breaker,
        concurrency: serving.concurrency,
        coldStart,
      };
      if (waitedMs === 0 && !coldStart) this.options.set(serving, options);
    }
    const hedging = serving.hedging;
    if (hedging !== undefined && hedging.applies(headerValue(stream.headers, ':path') ?? ''))
      hedge(stream, endpoint, options, hedging);
    else if (serving.canary !== undefined && serving.canary.mirrors(endpoint))
      forward(stream, endpoint, options, this.mirrorOf(stream, serving.canary));
    else forward(stream, endpoint, options);
    if (this.debug)
      this.logger.debug('routed', { engine: serving.cluster.name, instance: endpoint.id, waitedMs });
  }

  /** A copy of the call to a canary instance, or undefined when none can take it now. */
  private mirrorOf(stream: H2Stream, canary: CanaryRouting): MirrorCopy | undefined {
    const target = canary.canaryPicker.pick();
    if (target === undefined) return undefined;
    const copy = new MirrorCopy(canary, target);
    const headers = stream.headers;
    return copy.open(this.pool, headers, headerValue(headers, 'grpc-timeout') !== undefined)
      ? copy
      : undefined;
  }
}

const NOT_GRPC = [':status', '415', 'content-type', 'text/plain'];
const NOT_GRPC_BODY = Buffer.from('this port speaks gRPC: POST with content-type application/grpc\n');

/** An instance of the engine if its engine-wide circuit lets the call through (a probe permit when half-open). */
function pickFrom(entry: EngineEntry, key: string | undefined): RoutableEndpoint | undefined {
  if (!entry.breaker.tryAcquire()) return undefined;
  const endpoint = pickEndpoint(entry, key);
  if (!endpoint) entry.breaker.record('ignored', 0); // the permit goes back
  return endpoint;
}

/**
 * Whether the call's headers match the canary's rules. A client's calls repeat one header list object
 * (the HPACK decoder reuses it), so the answer is kept with the last request and a repeated list is
 * matched once, as its engine is resolved once.
 */
function matchesCanary(canary: CanaryRouting, headers: HeaderList, last: LastRequest | undefined): boolean {
  if (last === undefined || last.headers !== headers) return canary.matches(headers);
  if (last.canaryMatch < 0) last.canaryMatch = canary.matches(headers) ? 1 : 0;
  return last.canaryMatch === 1;
}

/**
 * An instance for a call while a rollout routes by call: a matching call (or a session falling in the
 * canary's share) goes to the canary version; when the canary has nothing to serve it, the call is served
 * as any other, so a rollout never costs a caller an answer.
 */
function pickRouted(
  entry: EngineEntry,
  canary: CanaryRouting,
  matched: boolean,
  key: string | undefined,
): RoutableEndpoint | undefined {
  const picker = canary.pickerFor(matched, key);
  if (picker !== undefined && entry.breaker.tryAcquire()) {
    const endpoint = pickEndpoint(entry, key, picker);
    if (endpoint) return endpoint;
    entry.breaker.record('ignored', 0);
  }
  return pickFrom(entry, key);
}

/** Whether the engine has an instance that may serve (healthy or not yet checked, not draining, weighted). */
function hasInstance(entry: EngineEntry): boolean {
  for (const e of entry.cluster.endpoints)
    if (
      e.weight > 0 &&
      (e.health === HealthStatus.HEALTH_STATUS_HEALTHY || e.health === HealthStatus.HEALTH_STATUS_UNKNOWN)
    )
      return true;
  return false;
}

function whyNot(entry: EngineEntry): string {
  const b = entry.breaker;
  if (!b.admits && b.state !== CircuitState.CIRCUIT_STATE_CLOSED)
    return `engine "${entry.cluster.name}" circuit is ${b.state === CircuitState.CIRCUIT_STATE_OPEN ? 'open' : 'half-open, probing'} (${b.reason})`;
  return entry.picker.reason;
}
