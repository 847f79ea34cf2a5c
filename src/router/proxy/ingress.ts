import * as http2 from 'node:http2';
import type { Logger } from '../../observability/logger';
import type { RoutingState } from '../routing-state';
import { forward } from './forward';
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
 * as Envoy matches virtual hosts), the service in :path when an engine's config lists it.
 * Returns the engine name, or an error message when nothing matched.
 */
export function resolveEngine(
  state: RoutingState,
  headers: http2.IncomingHttpHeaders,
): { engine?: string; error?: string } {
  const named = headers[ENGINE_HEADER];
  if (typeof named === 'string' && named !== '') {
    return state.engine(named)
      ? { engine: named }
      : { error: `no engine "${named}" (from ${ENGINE_HEADER}); known: ${list(state)}` };
  }
  const authority = headers[':authority'];
  if (typeof authority === 'string') {
    const host = authority.startsWith('[')
      ? authority.slice(0, authority.indexOf(']') + 1)
      : authority.split(':', 1)[0];
    const engine = state.engineForAuthority(host);
    if (engine) return { engine };
  }
  const path = headers[':path'] ?? '';
  const service = path.slice(1, path.lastIndexOf('/'));
  const engine = state.engineForService(service);
  if (engine) return { engine };
  return {
    error: `no engine for ${path} at authority "${authority ?? ''}": set ${ENGINE_HEADER}, use an engine name as the authority, or list the service in an engine's config; known engines: ${list(state)}`,
  };
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
    const resolved = resolveEngine(this.state, headers);
    const entry = resolved.engine === undefined ? undefined : this.state.engine(resolved.engine);
    if (!entry) {
      respondError(stream, Status.NOT_FOUND, resolved.error ?? `no engine "${resolved.engine}"`);
      return;
    }
    const admission = this.state.admission(entry.cluster.name)!;
    const withdraw = admission.admit(
      priorityOf(headers[PRIORITY_HEADER]),
      (waitedMs) => this.route(stream, headers, entry.cluster.name, waitedMs, () => admission.release()),
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
    let endpoint = entry?.picker.pick(key);
    if (!entry || !endpoint || stream.closed) {
      // Nothing of the engine can serve: its fallback engines, in order (not theirs in turn: no chains).
      const reasons = [entry ? entry.picker.reason : `engine "${engine}" was removed`];
      for (const name of entry?.cluster.policy?.fallbackEngines ?? []) {
        const fallback = this.state.engine(name);
        endpoint = fallback?.picker.pick(key);
        if (endpoint) break;
        reasons.push(fallback ? fallback.picker.reason : `fallback engine "${name}" does not exist`);
      }
      if (!endpoint || stream.closed) {
        done();
        if (!stream.closed) respondError(stream, Status.UNAVAILABLE, reasons.join('; '));
        return;
      }
    }
    const serving = endpoint.engine === engine ? entry! : (this.state.engine(endpoint.engine) ?? entry!);
    forward(stream, headers, endpoint, {
      defaultTimeoutMs: serving.defaultTimeoutMs,
      pool: this.pool,
      waitedMs,
      done,
      retry: serving.retry,
      eject: serving.eject,
    });
    if (this.logger.isDebugEnabled())
      this.logger.debug('routed', { engine, instance: endpoint.id, path: headers[':path'], waitedMs });
  }
}
