import * as grpc from '@grpc/grpc-js';
import {
  AdminClient,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type RegisterRequest,
  type RegisterResponse,
} from '../../gen/nerve/admin/v1/admin';
import type { Logger } from '../observability/logger';
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

/**
 * Joins an engine instance to its engine on a control plane with a lease (creating the engine with the
 * default policy when missing) and keeps the lease with heartbeats. A heartbeat refused with NOT_FOUND
 * (the lease lapsed: the control plane was unreachable too long) registers again under the same id; an
 * unreachable control plane is retried at the heartbeat interval. The first registration waits up to
 * `joinTimeoutMs` (default 60 s) for the control plane to come up.
 */
export async function registerEngine(
  engine: DemoEngine,
  controlPlane: string,
  advertised = engine.address,
  options: { ttlMs?: number; logger?: Logger; token?: string; joinTimeoutMs?: number } = {},
): Promise<Registration> {
  const client = new AdminClient(controlPlane, grpc.credentials.createInsecure(), {
    interceptors: options.token ? [bearer(options.token)] : [],
  });
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
  const register = () => call<RegisterRequest, RegisterResponse>(client.register.bind(client), request);
  // The first registration waits for the control plane to answer (it may start beside the engine, as
  // docker compose and Kubernetes start them), for up to joinTimeoutMs; a refusal is final at once.
  const joinTimeoutMs = options.joinTimeoutMs ?? 60_000;
  const deadline = Date.now() + joinTimeoutMs;
  let grant = await new Promise<void>((resolve, reject) =>
    client.waitForReady(deadline, (err) =>
      err
        ? reject(new Error(`control plane ${controlPlane} did not answer within ${joinTimeoutMs} ms`))
        : resolve(),
    ),
  )
    .then(register)
    .catch((err: unknown) => {
      client.close();
      throw err;
    });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const beat = async () => {
    try {
      const res = await call<HeartbeatRequest, HeartbeatResponse>(client.heartbeat.bind(client), {
        leaseId: grant.leaseId,
      });
      grant = { ...grant, heartbeatIntervalMs: res.heartbeatIntervalMs };
    } catch (err) {
      const e = err as grpc.ServiceError;
      // Taken out by an operator: this process does not put itself back (a restart registers anew).
      if (e.code === grpc.status.FAILED_PRECONDITION) {
        options.logger?.error('instance removed by an operator; heartbeats stop', { error: e.details });
        return;
      }
      options.logger?.warn('heartbeat failed', { code: e.code, error: e.details ?? String(err) });
      if (e.code === grpc.status.NOT_FOUND) grant = await register().catch(() => grant);
    }
    if (!stopped) timer = setTimeout(() => void beat(), grant.heartbeatIntervalMs);
  };
  timer = setTimeout(() => void beat(), grant.heartbeatIntervalMs);
  return {
    get leaseId() {
      return grant.leaseId;
    },
    async leave() {
      stopped = true;
      clearTimeout(timer);
      try {
        await call(client.deregister.bind(client), { leaseId: grant.leaseId });
      } finally {
        client.close();
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
