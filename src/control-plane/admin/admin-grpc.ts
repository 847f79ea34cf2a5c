import type { CallGate } from '../../security/call-gate';
import * as grpc from '@grpc/grpc-js';
import {
  AdminService as AdminServiceDefinition,
  type AdminServer,
  type Engine,
  type EngineCircuitsView,
  type XdsClient,
} from '../../../gen/nerve/admin/v1/admin';
import type { CircuitStatus, EngineCircuitStatus } from '../circuits/circuit-board';
import type { StreamStatus } from '../xds/stream-state';
import { randomUUID } from 'node:crypto';
import type { AdminContext } from '../commands/admin-context';
import { NerveError } from '../../model/errors';
import { asNerveError } from '../../store/as-nerve-error';
import type { AdminService } from './admin-service';
import { configHandlers } from './config-grpc';
import { observabilityHandlers } from './observability-grpc';
import { alertHandlers } from '../alerts/alert-grpc';
import { fleetHandlers } from '../fleet/fleet-grpc';
import { rolloutHandlers } from '../rollouts/rollout-grpc';
import { apiKeyHandlers } from './api-key-grpc';
import { specPartHandlers } from './spec-parts-grpc';
import { documentHandlers } from './document-grpc';
import { explainHandlers } from './explain-grpc';
import { operationsHandlers } from './operations-grpc';
import type { EngineView } from '../views/engine-views';
import { GRPC_ROLES } from './grpc-roles';
import type { Principal } from '../../model/security/principal';
import { authorize, type Authenticator } from '../../security/authenticator';
import { grpcCredentials, grpcPeer } from '../../security/grpc-credentials';
import type { CallLimits } from '../../security/call-limits';
import { scopedKey, withIdempotencyKey } from '../../store/idempotency';

const CODES: Record<NerveError['code'], grpc.status> = {
  INVALID_ARGUMENT: grpc.status.INVALID_ARGUMENT,
  NOT_FOUND: grpc.status.NOT_FOUND,
  ALREADY_EXISTS: grpc.status.ALREADY_EXISTS,
  FAILED_PRECONDITION: grpc.status.FAILED_PRECONDITION,
  ABORTED: grpc.status.ABORTED,
  CONFLICT: grpc.status.ABORTED,
  UNAVAILABLE: grpc.status.UNAVAILABLE,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
  RESOURCE_EXHAUSTED: grpc.status.RESOURCE_EXHAUSTED,
};

export function toProtoEngine(v: EngineView): Engine {
  return {
    name: v.name,
    versions: v.versions.map((x) => ({ ...x })),
    instances: v.instances.map((i) => ({
      id: i.id,
      address: i.address,
      version: i.version,
      weight: i.weight,
      health: i.health,
      priority: i.priority,
      load: i.load && {
        requests: i.load.requests,
        errors: i.load.errors,
        inFlight: i.load.inFlight,
        p50Ms: i.load.p50Ms,
        p99Ms: i.load.p99Ms,
        reportedAtMs: i.load.reportedAtMs,
        loadMetrics: { ...i.load.loadMetrics },
      },
    })),
    policy: v.policy,
    services: [...v.services],
    revision: v.revision,
    dropped: v.dropped,
  };
}

export function toProtoClient(c: StreamStatus): XdsClient {
  return {
    nodeId: c.nodeId,
    peer: c.peer,
    connectedAtMs: c.connectedAtMs,
    types: c.types.map((t) => ({
      typeUrl: t.typeUrl,
      sentVersion: t.sentVersion,
      ackedVersion: t.ackedVersion,
      nackVersion: t.nack?.version ?? '',
      nackError: t.nack?.error ?? '',
      nackAtMs: t.nack?.atMs ?? 0,
      subscribed: [...t.subscribed],
      wildcard: t.wildcard,
      inSync: t.inSync,
      responses: t.responses,
    })),
  };
}

function toProtoCircuits(c: EngineCircuitStatus): EngineCircuitsView {
  const view = (s: CircuitStatus) => ({
    instanceId: s.instanceId,
    state: s.state,
    sinceMs: s.sinceMs,
    resetAtMs: s.resetAtMs,
    openOn: s.openOn,
    reporters: s.reporters,
    routers: s.routers,
  });
  return { engine: c.engine, engineCircuit: view(c.engineCircuit), instances: c.instances.map(view) };
}

/** The principal each call was authenticated as (set by the guard before the handler runs). */
const principals = new WeakMap<object, Principal>();

/** Who calls: the authenticated principal (the peer when auth is off), and its x-request-id or a new one. */
function contextOf(call: grpc.ServerUnaryCall<unknown, unknown>): AdminContext {
  const given = call.metadata.get('x-request-id')[0];
  const requestId = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
  const from = grpcPeer(call);
  const p = principals.get(call);
  return { actor: p && p.via !== 'none' ? p.name : from, from, via: 'grpc', requestId, role: p?.role };
}

/** Authenticates a call and checks the method's role (GRPC_ROLES) before its handler runs. */
function guarded<Req, Res>(
  auth: Authenticator,
  limits: CallLimits,
  method: keyof AdminServer,
  handler: grpc.handleUnaryCall<Req, Res>,
): grpc.handleUnaryCall<Req, Res> {
  const what = `Admin/${String(method)[0].toUpperCase()}${String(method).slice(1)}`;
  return (call, callback) => {
    const address = grpcPeer(call).replace(/:\d+$/, '');
    auth
      .authenticate(grpcCredentials(call))
      .catch(async (err: unknown) => {
        await limits.address(address); // failed credentials count against the address
        throw err;
      })
      .then(async (p) => {
        if (p.via === 'none') await limits.address(address);
        else await limits.principal(p);
        authorize(p, GRPC_ROLES[method], what);
        principals.set(call, p);
        // An idempotency-key makes the call's first commit at most once: a retry of a call whose
        // answer was lost gets ALREADY applied (CONFLICT) naming the version, not a second change.
        const key = call.metadata.get('idempotency-key')[0];
        if (typeof key === 'string' && key !== '')
          withIdempotencyKey(scopedKey(p.name, key), () => handler(call, callback));
        else handler(call, callback);
      })
      .catch((thrown: unknown) => {
        const err = thrown instanceof NerveError ? thrown : new NerveError('UNAUTHENTICATED', String(thrown));
        callback(grpcError(err));
      });
  };
}

/** A NerveError as a grpc-js status, with its retry hint (gRFC A6 `grpc-retry-pushback-ms`). */
export function grpcError(err: NerveError): Partial<grpc.StatusObject> {
  if (err.retryAfterMs === undefined) return { code: CODES[err.code], details: err.message };
  const metadata = new grpc.Metadata();
  metadata.set('grpc-retry-pushback-ms', String(err.retryAfterMs));
  return { code: CODES[err.code], details: err.message, metadata };
}

/** Adapts an async operation to a grpc-js unary handler, mapping NerveError to its status code. */
export function unary<Req, Res>(
  fn: (req: Req, ctx: AdminContext) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    fn(call.request, contextOf(call)).then(
      (res) => callback(null, res),
      (thrown: unknown) => {
        const err = asNerveError(thrown);
        if (err instanceof NerveError) callback(grpcError(err));
        else
          callback({ code: grpc.status.INTERNAL, details: err instanceof Error ? err.message : String(err) });
      },
    );
  };
}

/** nerve.admin.v1.Admin over the shared AdminService. */
export function addAdminGrpc(server: grpc.Server, admin: AdminService, gate: CallGate): void {
  const impl: AdminServer = {
    listEngines: unary(async (r) => {
      const page = await admin.views.listEngines(r.pageSize, r.pageToken);
      return { engines: page.engines.map(toProtoEngine), nextPageToken: page.nextPageToken };
    }),
    getEngine: unary(async (r) => ({ engine: toProtoEngine(await admin.views.getEngine(r.name)) })),
    setInstanceWeight: unary(async (r, ctx) => ({
      engine: toProtoEngine(await admin.setInstanceWeight(r.engine, r.instanceId, r.weight, ctx)),
    })),
    drainInstance: unary(async (r, ctx) => ({
      engine: toProtoEngine(await admin.drainInstance(r.engine, r.instanceId, ctx)),
    })),
    undrainInstance: unary(async (r, ctx) => ({
      engine: toProtoEngine(await admin.undrainInstance(r.engine, r.instanceId, ctx)),
    })),
    addInstance: unary(async (r, ctx) => ({ engine: toProtoEngine(await admin.addInstance(r, ctx)) })),
    removeInstance: unary(async (r, ctx) => ({
      engine: toProtoEngine(await admin.removeInstance(r.engine, r.instanceId, ctx)),
    })),
    listXdsClients: unary(async () => ({ clients: admin.views.xdsClients().map(toProtoClient) })),
    listCircuits: unary(async (r) => ({
      engines: (await admin.views.circuits(r.engine || undefined)).map(toProtoCircuits),
    })),
    resetCircuit: unary(async (r, ctx) => ({
      engine: toProtoCircuits(await admin.circuits.reset(r.engine, r.instanceId, ctx)),
    })),
    ...configHandlers(admin, unary, toProtoEngine),
    ...observabilityHandlers(admin, unary),
    ...alertHandlers(admin.alerts, unary),
    ...fleetHandlers(admin.fleet, unary),
    ...rolloutHandlers(admin, unary),
    ...apiKeyHandlers(admin, unary),
    ...specPartHandlers(admin, unary, toProtoEngine),
    ...documentHandlers(admin, unary),
    ...operationsHandlers(admin, unary),
    ...explainHandlers(admin, unary),
  };
  const secured = Object.fromEntries(
    Object.entries(impl).map(([name, h]) => [
      name,
      guarded(gate.auth, gate.limits, name as keyof AdminServer, h as grpc.handleUnaryCall<unknown, unknown>),
    ]),
  ) as unknown as AdminServer;
  server.addService(AdminServiceDefinition, secured);
}
