import * as grpc from '@grpc/grpc-js';
import {
  AdminClient,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type RegisterRequest,
  type RegisterResponse,
} from '../../gen/nerve/admin/v1/admin';
import { readFileSync } from 'node:fs';
import type { Logger } from '../observability/logger';
import { DEFAULT_LEASE_TTL_MS } from '../model/fleet/lease-defaults';
import type { DemoEngine } from './engine-server';

function call<Req, Res>(
  fn: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown,
  req: Req,
): Promise<Res> {
  return new Promise((resolve, reject) => fn(req, (err, res) => (err ? reject(err) : resolve(res))));
}

export interface Registration {
  /** Deregisters (out of routing at once) and stops heartbeating. */
  leave(): Promise<void>;
  /** The current lease (changes when it is registered again after a lapse). */
  readonly leaseId: string;
}

/** TLS toward the control plane: the CA that signed its certificate, and this engine's own pair for mTLS. */
export interface RegistrationTls {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

export interface RegistrationOptions {
  readonly ttlMs?: number;
  readonly logger?: Logger;
  /** NERVE_TOKEN: a JWT or an API key with the operator role (sent only over TLS off loopback). */
  readonly token?: string;
  readonly tls?: RegistrationTls;
  readonly joinTimeoutMs?: number;
}

/** Codes that mean "this control plane cannot answer now": the next address is tried. */
const UNREACHABLE = new Set([grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED]);
const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]):\d+$/;

/**
 * Joins an engine instance to its engine on a control plane with a lease (creating the engine with the
 * default policy when missing, where the credential may) and keeps the lease with heartbeats.
 * `controlPlanes` is one address or several (comma-separated, or a list): any replica takes
 * registrations and heartbeats, so when one cannot answer the next is used, and the instance stays
 * registered while any replica is up. A heartbeat refused with NOT_FOUND (the lease lapsed) registers
 * again under the same id; FAILED_PRECONDITION (an operator removed it) stops heartbeats. Channels
 * reconnect within a heartbeat interval, so a control plane that comes back hears from its engines
 * before their leases run out. With `tls`, every channel is TLS (mTLS with a pair); a token is never
 * sent in clear off loopback. The first registration waits up to `joinTimeoutMs` (default 60 s).
 */
export async function registerEngine(
  engine: DemoEngine,
  controlPlanes: string | readonly string[],
  advertised = engine.address,
  options: RegistrationOptions = {},
): Promise<Registration> {
  const addresses = (typeof controlPlanes === 'string' ? controlPlanes.split(',') : [...controlPlanes])
    .map((a) => a.trim())
    .filter(Boolean);
  if (addresses.length === 0) throw new Error('no control-plane address to register with');
  if (options.token && !options.tls) {
    const exposed = addresses.filter((a) => !LOOPBACK.test(a));
    if (exposed.length > 0)
      throw new Error(
        `refusing to send the token in clear to ${exposed.join(', ')}: set TLS_CA_FILE (the CA of the control plane's certificate) to register over TLS`,
      );
  }
  const credentials = options.tls
    ? grpc.credentials.createSsl(
        readFileSync(options.tls.ca),
        options.tls.key ? readFileSync(options.tls.key) : null,
        options.tls.cert ? readFileSync(options.tls.cert) : null,
      )
    : grpc.credentials.createInsecure();
  const ttlMs = options.ttlMs || DEFAULT_LEASE_TTL_MS;
  // Reconnect within a third of the lease (grpc-js would back off up to 120 s).
  const backoffMs = Math.max(100, Math.min(5_000, Math.floor(ttlMs / 3)));
  const clients = addresses.map(
    (a) =>
      new AdminClient(a, credentials, {
        interceptors: options.token ? [bearer(options.token)] : [],
        'grpc.initial_reconnect_backoff_ms': Math.min(1_000, backoffMs),
        'grpc.max_reconnect_backoff_ms': backoffMs,
      }),
  );
  let current = 0;
  const client = () => clients[current];
  const next = (why: string) => {
    if (clients.length < 2) return;
    const from = addresses[current];
    current = (current + 1) % clients.length;
    options.logger?.warn('control plane unreachable; trying the next', { from, to: addresses[current], why });
  };
  const request: RegisterRequest = {
    engine: engine.name,
    id: engine.id,
    address: advertised,
    version: engine.version,
    weight: 100,
    priority: 0,
    ttlMs: options.ttlMs ?? 0,
    createEngine: true,
  };
  const register = () => call<RegisterRequest, RegisterResponse>(client().register.bind(client()), request);
  const closeAll = () => clients.forEach((c) => c.close());
  // The first registration waits for a control plane to answer (it may start beside the engine, as
  // docker compose and Kubernetes start them), for up to joinTimeoutMs; a refusal is final at once.
  const joinTimeoutMs = options.joinTimeoutMs ?? 60_000;
  const deadline = Date.now() + joinTimeoutMs;
  let grant: RegisterResponse | undefined;
  try {
    while (!grant) {
      const ready = await new Promise<boolean>((resolve) =>
        client().waitForReady(Math.min(deadline, Date.now() + backoffMs * 2), (err) => resolve(!err)),
      );
      if (ready) {
        try {
          grant = await register();
          break;
        } catch (err) {
          if (!UNREACHABLE.has((err as grpc.ServiceError).code)) throw err;
        }
      }
      if (Date.now() >= deadline)
        throw new Error(`no control plane of ${addresses.join(', ')} answered within ${joinTimeoutMs} ms`);
      next('not ready');
    }
  } catch (err) {
    closeAll();
    throw err;
  }
  let lease: RegisterResponse = grant;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const beat = async () => {
    try {
      const res = await call<HeartbeatRequest, HeartbeatResponse>(client().heartbeat.bind(client()), {
        leaseId: lease.leaseId,
      });
      lease = { ...lease, heartbeatIntervalMs: res.heartbeatIntervalMs };
    } catch (err) {
      const e = err as grpc.ServiceError;
      // Taken out by an operator: this process does not put itself back (a restart registers anew).
      if (e.code === grpc.status.FAILED_PRECONDITION) {
        options.logger?.error('instance removed by an operator; heartbeats stop', { error: e.details });
        return;
      }
      options.logger?.warn('heartbeat failed', { code: e.code, error: e.details ?? String(err) });
      if (UNREACHABLE.has(e.code)) next(e.details ?? String(err));
      if (e.code === grpc.status.NOT_FOUND) lease = await register().catch(() => lease);
    }
    if (!stopped) timer = setTimeout(() => void beat(), lease.heartbeatIntervalMs);
  };
  timer = setTimeout(() => void beat(), lease.heartbeatIntervalMs);
  return {
    get leaseId() {
      return lease.leaseId;
    },
    async leave() {
      stopped = true;
      clearTimeout(timer);
      try {
        await call(client().deregister.bind(client()), { leaseId: lease.leaseId });
      } finally {
        closeAll();
      }
    },
  };
}

/** Adds `authorization: Bearer <token>` to every call (registration needs the operator role with auth on). */
function bearer(token: string): grpc.Interceptor {
  return (opts, next) =>
    new grpc.InterceptingCall(next(opts), {
      start(metadata, listener, nxt) {
        metadata.set('authorization', `Bearer ${token}`);
        nxt(metadata, listener);
      },
    });
}
