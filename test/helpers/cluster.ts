import { internals } from './internals';
import * as grpc from '@grpc/grpc-js';
import { EngineClient, type InvokeResponse } from '../../gen/nerve/engine/v1/engine';
import {
  AdminClient,
  type AddInstanceRequest,
  type AddInstanceResponse,
  type GetEngineRequest,
  type GetEngineResponse,
  type ListCircuitsRequest,
  type ListCircuitsResponse,
  type RemoveInstanceRequest,
  type ResetCircuitRequest,
  type ResetCircuitResponse,
  type RemoveInstanceResponse,
  type SetInstanceWeightRequest,
  type SetInstanceWeightResponse,
} from '../../gen/nerve/admin/v1/admin';
import { type HttpHandle, startApi } from '../../src/api/server';
import type { FeedGatewayOptions } from '../../src/api/feed/feed-gateway';
import type { FeedGateway } from '../../src/api/feed/feed-gateway';
import { ControlPlane, type ControlPlaneOptions } from '../../src/control-plane/control-plane';
import { DemoEngine } from '../../src/engines/engine-server';
import type { EngineSpec } from '../../src/model/engine';
import type { EngineInput } from '../../src/model/validate';
import { parseEngineSpec } from '../../src/model/validate';
import { createLogger } from '../../src/observability/logger';
import { Router, type RouterOptions } from '../../src/router/router';
import { MemoryStore } from '../../src/store/memory-store';
import { waitFor } from './wait';

export const logger = createLogger('test', process.env.TEST_LOG_LEVEL ?? 'silent');

export interface EngineGroup {
  readonly name: string;
  readonly type: string;
  readonly instances: number;
  readonly policy?: EngineInput['policy'];
}

/** A control plane, its REST API, one router and real demo engines, all on 127.0.0.1 with ephemeral ports. */
export class TestCluster {
  readonly engines = new Map<string, DemoEngine>();
  private readonly clients: grpc.Client[] = [];
  /** Routers added by `addRouter`, besides the first. */
  readonly routers: Router[] = [];

  private constructor(
    readonly cp: ControlPlane,
    readonly router: Router,
    readonly api: HttpHandle & { readonly feed: FeedGateway },
  ) {}

  static async start(
    groups: readonly EngineGroup[],
    healthIntervalMs = 100,
    extra: { feed?: FeedGatewayOptions; controlPlane?: Partial<ControlPlaneOptions> } = {},
  ): Promise<TestCluster> {
    const feedOptions = extra.feed;
    const members: DemoEngine[] = [];
    const specs = [];
    for (const g of groups) {
      const group = await Promise.all(
        Array.from({ length: g.instances }, (_, i) =>
          new DemoEngine({
            type: g.type,
            name: g.name,
            id: `${g.name}-${i + 1}`,
            host: '127.0.0.1',
            port: 0,
            logger,
          }).start(),
        ),
      );
      members.push(...group);
      const spec = parseEngineSpec({
        name: g.name,
        instances: group.map((m) => ({ id: m.id, address: m.address })),
        policy: {
          ...g.policy,
          healthCheck: {
            intervalMs: healthIntervalMs,
            // Generous: this process hosts engines, control plane and router, and a probe round that times
            // out in a stall of the loaded test machine marks every instance unhealthy (threshold 1).
            // Killed instances fail at once (connection refused), so detection stays fast.
            timeoutMs: 2_000,
            healthyThreshold: 1,
            unhealthyThreshold: 1,
            ...g.policy?.healthCheck,
          },
        },
      });
      if (!spec.ok) throw new Error(spec.errors.join('; '));
      specs.push(spec.value);
    }
    const cp = await startControlPlane(specs, extra.controlPlane);
    const api = await startApi(cp, logger, '127.0.0.1', 0, feedOptions);
    const router = await startRouter(cp, 'test-router');
    const cluster = new TestCluster(cp, router, api);
    for (const m of members) cluster.engines.set(m.id, m);
    await waitFor(async () => (await cp.admin.views.health()).status === 'healthy', 'every instance healthy');
    await waitFor(() => groups.every((g) => router.state.engine(g.name)), 'the router to know every engine');
    await inSync(cp, router, 'test-router');
    return cluster;
  }

  get apiBase(): string {
    return `http://127.0.0.1:${this.api.port}/api/v1/nerve`;
  }

  engineClient(options: grpc.ClientOptions = {}): EngineClient {
    const c = new EngineClient(`127.0.0.1:${this.router.port}`, grpc.credentials.createInsecure(), options);
    this.clients.push(c);
    return c;
  }

  /** The admin gRPC API with promises (a real client over the network). */
  adminClient() {
    const c = new AdminClient(`127.0.0.1:${this.cp.port}`, grpc.credentials.createInsecure());
    this.clients.push(c);
    return {
      getEngine: (r: GetEngineRequest) => unary<GetEngineRequest, GetEngineResponse>(c.getEngine.bind(c), r),
      setInstanceWeight: (r: SetInstanceWeightRequest) =>
        unary<SetInstanceWeightRequest, SetInstanceWeightResponse>(c.setInstanceWeight.bind(c), r),
      addInstance: (r: AddInstanceRequest) =>
        unary<AddInstanceRequest, AddInstanceResponse>(c.addInstance.bind(c), r),
      removeInstance: (r: RemoveInstanceRequest) =>
        unary<RemoveInstanceRequest, RemoveInstanceResponse>(c.removeInstance.bind(c), r),
      resetCircuit: (r: ResetCircuitRequest) =>
        unary<ResetCircuitRequest, ResetCircuitResponse>(c.resetCircuit.bind(c), r),
      listCircuits: (r: ListCircuitsRequest) =>
        unary<ListCircuitsRequest, ListCircuitsResponse>(c.listCircuits.bind(c), r),
    };
  }

  /** Ids of the instances the router's picker for an engine chooses from (no pick is made). */
  routable(engine: string): string[] {
    return [...this.router.state.inRotation(engine)].sort();
  }

  /** Another router on the same control plane, in sync with it. */
  async addRouter(id: string): Promise<Router> {
    const router = await startRouter(this.cp, id);
    this.routers.push(router);
    await inSync(this.cp, router, id);
    return router;
  }

  /** A client of a given router's ingress. */
  clientOf(router: Router): EngineClient {
    const c = new EngineClient(`127.0.0.1:${router.port}`, grpc.credentials.createInsecure());
    this.clients.push(c);
    return c;
  }

  async stop(): Promise<void> {
    for (const c of this.clients) c.close();
    await Promise.all(this.routers.map((r) => r.stop(500)));
    await this.router.stop(1_000);
    await this.api.close();
    await this.cp.stop(1_000);
    await Promise.all([...this.engines.values()].map((e) => e.stop(500)));
  }
}

/**
 * A control plane serving `engines` (raw specs, validated here) and one router on it: for tests whose
 * instances are servers of their own rather than TestCluster's engines. It returns when every instance is
 * healthy.
 */
export async function startPlane(
  engines: readonly unknown[],
  routerId: string,
  routerExtra: Parameters<typeof startRouter>[2] = {},
): Promise<{ cp: ControlPlane; router: Router }> {
  const specs = engines.map((e) => {
    const doc = e as { policy?: { healthCheck?: object } };
    // A probe's first answer includes the channel's connect: on a loaded machine it took over the default
    // 1 s, and the first failure from unknown marks an instance unhealthy. Tests may set their own.
    const spec = parseEngineSpec({
      ...doc,
      policy: { ...doc.policy, healthCheck: { timeoutMs: 2_000, ...doc.policy?.healthCheck } },
    });
    if (!spec.ok) throw new Error(spec.errors.join('; '));
    return spec.value;
  });
  const cp = await startControlPlane(specs);
  await waitFor(async () => (await cp.admin.views.health()).status === 'healthy', 'every instance healthy');
  return { cp, router: await startRouter(cp, routerId, routerExtra) };
}

/** A validated engine spec from its document (throws with every error). */
export function engineSpec(doc: unknown): EngineSpec {
  const spec = parseEngineSpec(doc);
  if (!spec.ok) throw new Error(spec.errors.join('; '));
  return spec.value;
}

/** A control plane on an ephemeral port, with an in-memory store and fast reports. */
export function startControlPlane(
  specs: EngineSpec[],
  extra: Partial<ControlPlaneOptions> = {},
): Promise<ControlPlane> {
  return ControlPlane.start({
    store: new MemoryStore(),
    logger,
    host: '127.0.0.1',
    xdsPort: 0,
    engines: specs,
    reportIntervalMs: 200,
    ...extra,
  });
}

/** A router on `cp` with ephemeral ports and fast reports; `extra`: credentials, TLS. */
export function startRouter(
  cp: ControlPlane,
  id: string,
  extra: Pick<RouterOptions, 'credentials' | 'tls' | 'upstreamTls' | 'tracing'> = {},
): Promise<Router> {
  return new Router({
    controlPlanes: [`127.0.0.1:${cp.port}`],
    id,
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    logger,
    reportIntervalMs: 200,
    ...extra,
  }).start();
}

/** Waits until router `id` has ACKed everything the control plane serves it, for all three types. */
/** Every type the router subscribes to is held and ACKed, as the control plane sees it. */
function inSync(cp: ControlPlane, router: Router, id: string): Promise<unknown> {
  return waitFor(() => {
    const types =
      internals(cp)
        .ads.clients()
        .find((c) => c.nodeId === id)?.types ?? [];
    return types.length === router.ads.states.size && types.every((t) => t.inSync);
  }, `router ${id} in sync with the control plane`);
}

export function invoke(
  client: EngineClient,
  engine: string | undefined,
  operation: string,
  payload: string | Buffer = '',
): Promise<InvokeResponse> {
  const md = new grpc.Metadata();
  if (engine) md.set('x-nerve-engine', engine);
  return new Promise((resolve, reject) =>
    client.invoke(
      { operation, payload: Buffer.from(payload), metadata: {} },
      md,
      { deadline: Date.now() + 5_000 },
      (err, res) => (err ? reject(err) : resolve(res)),
    ),
  );
}

export async function invokeError(
  client: EngineClient,
  engine: string | undefined,
  operation: string,
  payload = '',
): Promise<grpc.ServiceError> {
  try {
    await invoke(client, engine, operation, payload);
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail');
}

/** Calls n times and counts answers per instance id. */
export async function spread(
  client: EngineClient,
  engine: string,
  n: number,
): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await invoke(client, engine, 'echo', 'x');
    counts[r.instanceId] = (counts[r.instanceId] ?? 0) + 1;
  }
  return counts;
}

/**
 * A unary call with a deadline: a call that is never answered fails the test with DEADLINE_EXCEEDED
 * where it was made, instead of holding it until the test's own timeout says nothing of where.
 */
export function unary<Req, Res>(
  fn: (
    req: Req,
    metadata: grpc.Metadata,
    options: Partial<grpc.CallOptions>,
    cb: (err: grpc.ServiceError | null, res: Res) => void,
  ) => unknown,
  req: Req,
  timeoutMs = 10_000,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    fn(req, new grpc.Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
}
