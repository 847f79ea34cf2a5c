import type { ConfigStore } from '../../store/config-store';
import { echo } from '../../model/echo';
import type { EngineSpec, InstanceSpec } from '../../model/engine';
import { findInstance, namespaceOf, updateInstance, withInstances } from '../../model/engine';
import type { HealthState } from '../../model/engine';
import { engineToJoin } from '../fleet/joining';
import { parseEngineSpec } from '../../model/validate';
import type { StoreStatus } from '../../store/config-store';
import { updateEngine, type WriteMeta } from '../config/engine-catalog';

import type { StreamStatus } from '../xds/stream-state';
import { type AdminContext, SYSTEM, actorLabel } from './admin-context';
import { ApiKeyAdmin } from './api-key-admin';
import { SpecPartsAdmin } from './spec-parts-admin';
import { Authenticator } from '../../security/authenticator';
import { ApiKeyRegistry } from '../../security/api-key-registry';
import { CallLimits } from '../../security/call-limits';
import { NerveError } from '../../model/errors';
import { CircuitAdmin } from './circuit-admin';
import { ConfigAdmin } from './config-admin';
import { SpecAdmin } from './spec-admin';
import { effectiveHealth, engineHealth, type InstanceInsight, systemHealth } from './health-report';
import type { HealthTransition } from '../health/health-history';
import { CircuitState } from '../../../gen/nerve/discovery/v1/resources';
import { MetricsAdmin } from './metrics-admin';
import { AlertAdmin } from './alert-admin';
import type { FleetReads } from '../views/fleet-reads';
import { EMPTY_STATE } from '../alerts/alert-state';
import { type HistoryAnswer, type HistoryQuery, queryHistory } from '../history/history-query';
import type { EngineView, HealthReport } from './views';
import { FleetAdmin } from './fleet-admin';
import { RolloutAdmin } from './rollout-admin';
import { WeightsAdmin } from './weights-admin';

import { OperationsAdmin } from './operations-admin';
import type { AddInstanceInput, AdminDeps, ReplicaView } from './admin-deps';
import type { AuditFields } from './admin-context';
export type { AddInstanceInput, AdminDeps, AuditFields, ReplicaView };

/** The history line of a change made for a caller. */
function write(ctx: AdminContext, summary: string): WriteMeta {
  return { actor: actorLabel(ctx), summary };
}

const MAX_PAGE = 1000;
const DEFAULT_PAGE = 100;

/** Admin operations, one implementation behind both the gRPC Admin service and the REST bridge. */
export class AdminService {
  readonly circuits: CircuitAdmin;
  /** Engine specs: create, replace, merge-patch, delete, batches. */
  readonly specs: SpecAdmin;
  /** Versions and the policy of an engine as resources of their own. */
  readonly specParts: SpecPartsAdmin;
  /** The versioned configuration: history, diff, rollback, export, import. */
  readonly config: ConfigAdmin;
  /** Fleet metrics: summaries, details, history. */
  readonly metrics: MetricsAdmin;
  /** Alerts, rules, channels, silences. */
  readonly alerts: AlertAdmin;
  /** Engine lifecycle: scale, instance operations and output, registration with leases. */
  readonly fleet?: FleetAdmin;
  /** Canary rollouts. */
  readonly rollouts?: RolloutAdmin;
  /** Closed-loop weights: explanations and pins. */
  readonly weights?: WeightsAdmin;
  /** Authentication shared by every surface (REST, admin gRPC, feeds, xDS). */
  readonly auth: Authenticator;
  readonly apiKeys: ApiKeyAdmin;
  readonly limits: CallLimits;
  /** Idempotency records of writes (the API's Idempotency-Key), kept by the store. */
  readonly idempotency: Pick<ConfigStore, 'idempotency' | 'rememberAnswer' | 'version'>;
  /** Log levels, profiles, feature flags of this process. */
  readonly operations: OperationsAdmin;
  /** The reads observers (alerting, the feed, the autoscaler) take, apart from every command. */
  readonly reads: FleetReads;

  constructor(private readonly deps: AdminDeps) {
    this.idempotency = deps.store;
    const audit = (ctx: AdminContext, action: string, fields: AuditFields) => this.audit(ctx, action, fields);
    this.auth = deps.auth ?? new Authenticator(false, new ApiKeyRegistry(deps.store));
    this.limits = deps.limits ?? new CallLimits();
    this.operations = new OperationsAdmin(deps.features, audit);
    this.apiKeys = new ApiKeyAdmin(deps.store, deps.staticKeyNames ?? (() => []), audit);
    this.circuits = new CircuitAdmin(deps.engines, deps.circuits, audit);
    this.specs = new SpecAdmin(deps.engines, audit);
    this.specParts = new SpecPartsAdmin(this.specs, deps.engines);
    this.config = new ConfigAdmin(deps.store, audit);
    this.metrics = new MetricsAdmin(deps.engines, deps.windows);
    this.alerts = new AlertAdmin(
      deps.store,
      deps.alerting ?? (() => EMPTY_STATE),
      audit,
      deps.evaluateAlerts,
    );
    if (deps.leases && deps.fleetEvents)
      this.fleet = new FleetAdmin(
        {
          store: deps.store,
          engines: deps.engines,
          leases: deps.leases,
          events: deps.fleetEvents,
          autoscale: deps.autoscale ?? (() => undefined),
          runDir: deps.runDir ?? '',
        },
        audit,
      );
    if (deps.rollouts) this.rollouts = new RolloutAdmin(deps.store, deps.engines, deps.rollouts, audit);
    if (deps.weights) this.weights = new WeightsAdmin(deps.engines, deps.weights, audit);
    this.reads = {
      health: (engine) => this.health(engine),
      instanceHealth: (engine, id) => this.instanceHealth(engine, id),
      healthHistoryNow: (engine, sinceMs) => this.healthHistoryNow(engine, sinceMs),
      summary: (filter) => this.metrics.summary(filter),
      circuits: () => this.circuits.list(),
      alerts: () => this.alerts.list({}),
    };
  }

  /** Rollouts, or FAILED_PRECONDITION where this service runs without them. */
  rolloutsAdmin(): RolloutAdmin {
    if (!this.rollouts) throw new NerveError('FAILED_PRECONDITION', 'rollouts are not available here');
    return this.rollouts;
  }

  weightsAdmin(): WeightsAdmin {
    if (!this.weights)
      throw new NerveError('FAILED_PRECONDITION', 'closed-loop weights are not available here');
    return this.weights;
  }

  /** The fleet operations, or UNAVAILABLE where this service runs without them (unit tests). */
  lifecycle(): FleetAdmin {
    if (!this.fleet) throw new NerveError('FAILED_PRECONDITION', 'engine lifecycle is not available here');
    return this.fleet;
  }

  /** An instance's status as routing sees it: drained, lapsed lease, then its probes. */
  instanceHealth(engine: string, instanceId: string): HealthState {
    const spec = this.deps.engines.getNow(engine);
    const instance = spec && findInstance(spec, instanceId);
    if (instance?.draining) return 'draining';
    if (this.deps.leases?.isLapsed(engine, instanceId)) return 'unhealthy';
    return this.deps.checkState(engine, instanceId).status;
  }

  /**
   * A page of engines by name. `pageSize` 1 to 1000, 0 for the default (100); `pageToken` the
   * nextPageToken of the page before. Both transports check through here, so REST's limit and cursor
   * and gRPC's page_size and page_token are refused alike.
   */
  async listEngines(pageSize = 0, pageToken = ''): Promise<{ engines: EngineView[]; nextPageToken: string }> {
    if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > MAX_PAGE)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `page size (limit) must be an integer from 1 to ${MAX_PAGE} (0: ${DEFAULT_PAGE}), got ${echo(String(pageSize), 20)}`,
      );
    const size = pageSize || DEFAULT_PAGE;
    let after = '';
    if (pageToken) {
      after = Buffer.from(pageToken, 'base64url').toString('utf8');
      // A token is what we made: the base64url of a name, in canonical form.
      if (!after || Buffer.from(after).toString('base64url') !== pageToken)
        throw new NerveError(
          'INVALID_ARGUMENT',
          `invalid page token (cursor) ${echo(pageToken, 64)}: pass nextPageToken (nextCursor) of the page before`,
        );
    }
    const all = (await this.deps.engines.list()).filter((s) => s.name > after);
    const page = all.slice(0, size);
    const nextPageToken =
      all.length > size ? Buffer.from(page[page.length - 1].name).toString('base64url') : '';
    return { engines: page.map((s) => this.view(s)), nextPageToken };
  }

  async getEngine(name: string): Promise<EngineView> {
    return this.view(await this.require(name));
  }

  async setInstanceWeight(
    engine: string,
    instanceId: string,
    weight: number,
    ctx: AdminContext = SYSTEM,
  ): Promise<EngineView> {
    if (!Number.isInteger(weight) || weight < 0 || weight > 1_000_000) {
      throw new NerveError('INVALID_ARGUMENT', `weight must be an integer from 0 to 1000000, got ${weight}`);
    }
    const view = await this.changeInstance(
      engine,
      instanceId,
      write(ctx, `set the weight of ${engine}/${instanceId} to ${weight}`),
      (i) => ({ ...i, weight }),
    );
    this.audit(ctx, 'set instance weight', { engine, instance: instanceId, weight });
    return view;
  }

  async drainInstance(engine: string, instanceId: string, ctx: AdminContext = SYSTEM): Promise<EngineView> {
    const view = await this.changeInstance(
      engine,
      instanceId,
      write(ctx, `drain ${engine}/${instanceId}`),
      (i) => ({ ...i, draining: true }),
    );
    this.audit(ctx, 'drain instance', { engine, instance: instanceId });
    return view;
  }

  /** Back into rotation after a drain (health checks decide from there, as for any instance). */
  async undrainInstance(engine: string, instanceId: string, ctx: AdminContext = SYSTEM): Promise<EngineView> {
    const view = await this.changeInstance(
      engine,
      instanceId,
      write(ctx, `undrain ${engine}/${instanceId}`),
      (i) => ({ ...i, draining: false }),
    );
    this.audit(ctx, 'undrain instance', { engine, instance: instanceId });
    return view;
  }

  async addInstance(input: AddInstanceInput, ctx: AdminContext = SYSTEM): Promise<EngineView> {
    const meta = write(ctx, `add instance ${input.engine}/${input.id} at ${input.address}`);
    const spec = await updateEngine(this.deps.engines, input.engine, meta, (current) => {
      const { base, version } = engineToJoin(current, input);
      if (findInstance(base, input.id))
        throw new NerveError(
          'ALREADY_EXISTS',
          `engine ${echo(input.engine)} already has an instance ${echo(input.id)}`,
        );
      const instance = {
        id: input.id,
        address: input.address,
        version,
        weight: input.weight ?? 100,
        priority: input.priority ?? 0,
        draining: false,
      };
      return this.validated({ ...base, instances: [...base.instances, instance] });
    });
    this.audit(ctx, 'add instance', {
      engine: input.engine,
      instance: input.id,
      address: input.address,
      version: input.version,
      createEngine: input.createEngine === true,
    });
    return this.view(spec!);
  }

  async removeInstance(engine: string, instanceId: string, ctx: AdminContext = SYSTEM): Promise<EngineView> {
    const meta = write(ctx, `remove instance ${engine}/${instanceId}`);
    const spec = await updateEngine(this.deps.engines, engine, meta, (current) => {
      if (!current) throw new NerveError('NOT_FOUND', `engine ${echo(engine)} not found`);
      if (!findInstance(current, instanceId))
        throw new NerveError('NOT_FOUND', `engine ${echo(engine)} has no instance ${echo(instanceId)}`);
      return withInstances(
        current,
        current.instances.filter((i) => i.id !== instanceId),
      );
    });
    this.audit(ctx, 'remove instance', { engine, instance: instanceId });
    return this.view(spec!);
  }

  /**
   * The audit line of a change: who, through what, its request id, what it did. Values a caller chose
   * are cut (echo) so that a huge one cannot flood the log.
   */
  audit(ctx: AdminContext, action: string, fields: AuditFields): void {
    const shown: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(fields))
      if (v !== undefined) shown[k] = typeof v === 'string' && v.length > 128 ? echo(v) : v;
    this.deps.logger?.info('admin change', {
      action,
      actor: ctx.actor,
      from: ctx.from,
      via: ctx.via,
      requestId: ctx.requestId,
      ...shown,
    });
  }

  /**
   * Engines' health, and the store's: a store that cannot be reached degrades the system (it keeps
   * routing on its last configuration, but no change can be made) and says why.
   */
  async health(engine?: string): Promise<HealthReport> {
    const specs = engine ? [await this.require(engine)] : await this.deps.engines.list();
    const tracker = this.deps.engineStatus;
    const report = systemHealth(
      specs.map((s) =>
        engineHealth(s, (id) => this.insight(s, id), tracker && ((name, raw) => tracker.observe(name, raw))),
      ),
    );
    const store = this.store();
    const status =
      store.state !== 'ok' && report.status === 'healthy' && !engine ? 'degraded' : report.status;
    return { ...report, status, store, replica: this.deps.replica() };
  }

  /** Metric history of engines and instances (GET /metrics/history). */
  async history(q: HistoryQuery): Promise<HistoryAnswer> {
    return queryHistory(this.deps.store.history, this.deps.engines.listNow(), q, Date.now());
  }

  healthHistoryNow(engine: string, sinceMs = 0): HealthTransition[] {
    return this.deps.healthHistory?.list(engine, sinceMs) ?? [];
  }

  /** Health transitions of an engine at or after `sinceMs`, oldest first. */
  async healthHistory(engine: string, sinceMs = 0): Promise<HealthTransition[]> {
    await this.require(engine);
    return this.healthHistoryNow(engine, sinceMs);
  }

  /** What is known of an instance: probes, circuits, routers' ejections, its calls and resources. */
  insight(spec: EngineSpec, instanceId: string): InstanceInsight {
    const instance = findInstance(spec, instanceId);
    const windows = this.deps.windows;
    const circuit = this.deps.circuits
      .status(spec.name, [instanceId])
      .instances.find((c) => c.instanceId === instanceId);
    return {
      facts: {
        draining: instance?.draining ?? false,
        check: this.deps.checkState(spec.name, instanceId),
        circuitOpen: circuit?.state === CircuitState.CIRCUIT_STATE_OPEN,
        ejectedBy: windows?.ejectedBy(spec.name, instanceId) ?? 0,
        leaseLapsed: this.deps.leases?.isLapsed(spec.name, instanceId) ?? false,
      },
      calls: windows?.stats(spec.name, instanceId),
      resources: windows?.resources(spec.name, instanceId),
    };
  }

  readiness(): { ready: boolean; reason?: string } {
    return this.deps.ready?.() ?? { ready: true };
  }

  store(): StoreStatus {
    return this.deps.store.status();
  }

  replica(): ReplicaView {
    return this.deps.replica();
  }

  async prometheus(): Promise<string> {
    return (await this.deps.prometheus?.()) ?? '';
  }

  /** System statistics: this replica, the leader, the store and its lag, what is configured and connected. */
  async stats() {
    const specs = await this.deps.engines.list();
    const memory = process.memoryUsage();
    return {
      replica: this.deps.replica(),
      store: this.deps.store.status(),
      engines: specs.length,
      instances: specs.reduce((n, s) => n + s.instances.length, 0),
      xdsClients: this.deps.xdsClients().length,
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
    };
  }

  xdsClients(): StreamStatus[] {
    return this.deps.xdsClients();
  }

  /**
   * A gRPC xDS bootstrap (gRFC A27) for this control plane: set it as GRPC_XDS_BOOTSTRAP_CONFIG and
   * `xds:///<engine>` works. `host` replaces a wildcard bind address with one the client can reach.
   */
  bootstrap(nodeId: string, host: string): object {
    if (!/^[\w.:-]{1,128}$/.test(nodeId))
      throw new NerveError(
        'INVALID_ARGUMENT',
        `node id must be 1-128 letters, digits, ".", ":", "_" or "-", got ${echo(nodeId)}`,
      );
    const endpoint = this.deps.xdsEndpoint();
    const bindHost = endpoint.host === '0.0.0.0' || endpoint.host === '::' ? host : endpoint.host;
    const uriHost = bindHost.includes(':') ? `[${bindHost}]` : bindHost;
    return {
      xds_servers: [
        {
          server_uri: `${uriHost}:${endpoint.port}`,
          channel_creds: [{ type: 'insecure' }],
          server_features: ['xds_v3'],
        },
      ],
      node: { id: nodeId, cluster: 'nerve-clients', locality: {} },
    };
  }

  view(spec: EngineSpec): EngineView {
    return {
      name: spec.name,
      namespace: namespaceOf(spec),
      versions: spec.versions,
      instances: spec.instances.map((i) => {
        const process = this.fleet?.process(spec.name, i.id);
        const lease = this.fleet?.lease(spec.name, i.id);
        return {
          id: i.id,
          address: i.address,
          version: i.version,
          weight: i.weight,
          health: this.deps.leases?.isLapsed(spec.name, i.id)
            ? 'unhealthy'
            : effectiveHealth(i.draining, this.deps.checkState(spec.name, i.id)),
          priority: i.priority,
          draining: i.draining,
          load: this.deps.loads.view(spec.name, i.id),
          ...(process && { process }),
          ...(lease && {
            lease: {
              ttlMs: lease.ttlMs,
              registeredAt: lease.registeredAt,
              renewedAt: lease.renewedAt,
              expiresAt: new Date(lease.expiresAtMs).toISOString(),
              lapsedAt: lease.lapsedAt,
            },
          }),
        };
      }),
      policy: spec.policy,
      services: spec.services,
      ...(spec.adaptiveWeights && { adaptiveWeights: spec.adaptiveWeights }),
      ...(spec.registration && { registration: spec.registration }),
      revision: spec.revision,
      dropped: this.deps.loads.dropped(spec.name),
      ...(spec.runtime && { runtimeSpec: spec.runtime }),
      ...(this.fleet && { runtime: this.fleet.runtimeView(spec) }),
    };
  }

  private async require(name: string): Promise<EngineSpec> {
    const spec = await this.deps.engines.get(name);
    if (!spec) throw new NerveError('NOT_FOUND', `engine ${echo(name)} not found`);
    return spec;
  }

  private async changeInstance(
    engine: string,
    instanceId: string,
    meta: WriteMeta,
    fn: (i: InstanceSpec) => InstanceSpec,
  ): Promise<EngineView> {
    const spec = await updateEngine(this.deps.engines, engine, meta, (current) => {
      if (!current) throw new NerveError('NOT_FOUND', `engine ${echo(engine)} not found`);
      const next = updateInstance(current, instanceId, fn);
      if (!next)
        throw new NerveError('NOT_FOUND', `engine ${echo(engine)} has no instance ${echo(instanceId)}`);
      return next;
    });
    return this.view(spec!);
  }

  /** Every write goes through the same validation as config files, so the store never holds a bad spec. */
  private validated(spec: EngineSpec): EngineSpec {
    const { revision, ...input } = spec;
    const parsed = parseEngineSpec(input);
    if (!parsed.ok)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `invalid engine ${echo(spec.name)}: ${parsed.errors.join('; ')}`,
        parsed.errors,
      );
    return { ...parsed.value, revision };
  }
}
