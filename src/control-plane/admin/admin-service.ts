import { EngineExplainer } from '../explain/engine-explainer';
import type { ConfigStore } from '../../store/config-store';
import { echo } from '../../model/echo';
import type { EngineSpec, InstanceSpec } from '../../model/engine';
import { findInstance, updateInstance, withInstances } from '../../model/engine';
import { engineToJoin } from '../fleet/joining';
import { parseEngineSpec } from '../../model/validate';
import { updateEngine, type WriteMeta } from '../config/engine-catalog';
import { type AdminContext, SYSTEM, actorLabel } from '../commands/admin-context';
import { ApiKeyAdmin } from './api-key-admin';
import { SpecPartsAdmin } from './spec-parts-admin';
import { NerveError } from '../../model/errors';
import { CircuitAdmin } from '../circuits/circuit-admin';
import { ConfigAdmin } from './config-admin';
import { SpecAdmin } from './spec-admin';
import { AlertAdmin } from '../alerts/alert-admin';
import type { EngineView } from '../views/engine-views';
import type { FleetViews } from '../views/fleet-views';
import { FleetAdmin } from '../fleet/fleet-admin';
import { RolloutAdmin } from '../rollouts/rollout-admin';
import { WeightsAdmin } from '../weights/weights-admin';
import { OperationsAdmin } from './operations-admin';
import type { AddInstanceInput, AdminDeps } from './admin-deps';
import type { AuditFields } from '../commands/admin-context';
export type { AddInstanceInput, AdminDeps, AuditFields };

/** The history line of a change made for a caller. */
function write(ctx: AdminContext, summary: string): WriteMeta {
  return { actor: actorLabel(ctx), summary };
}

/**
 * The commands of the admin API, one implementation behind both the gRPC Admin service and the REST
 * bridge: each validated, committed as one version with its actor, audited, and answered with the view
 * of what it changed (reads are `views/`). Who may call, and how often, is the transports' concern.
 */
export class AdminService {
  readonly circuits: CircuitAdmin;
  /** Engine specs: create, replace, merge-patch, delete, batches. */
  readonly specs: SpecAdmin;
  /** Versions and the policy of an engine as resources of their own. */
  readonly specParts: SpecPartsAdmin;
  /** The versioned configuration: history, diff, rollback, export, import. */
  readonly config: ConfigAdmin;
  /** Acknowledgements; rules, channels, silences. */
  readonly alerts: AlertAdmin;
  /** Engine lifecycle: scale, instance operations and output, registration with leases. */
  readonly fleet: FleetAdmin;
  /** Canary rollouts. */
  readonly rollouts: RolloutAdmin;
  /** Closed-loop weights: explanations and pins. */
  readonly weights: WeightsAdmin;
  readonly apiKeys: ApiKeyAdmin;
  /** Idempotency records of writes (the API's Idempotency-Key), kept by the store. */
  readonly idempotency: Pick<ConfigStore, 'idempotency' | 'rememberAnswer' | 'version'>;
  /** Log levels, profiles, feature flags of this process. */
  readonly operations: OperationsAdmin;
  /** Every read, and the view each command answers with. */
  readonly views: FleetViews;
  /** Routing decisions explained: an engine's state at a past moment. */
  readonly explain: EngineExplainer;

  constructor(private readonly deps: AdminDeps) {
    this.idempotency = deps.store;
    this.views = deps.views;
    const audit = (ctx: AdminContext, action: string, fields: AuditFields) => this.audit(ctx, action, fields);
    this.operations = new OperationsAdmin(deps.features, audit);
    this.apiKeys = new ApiKeyAdmin(deps.store, deps.staticKeyNames, audit);
    this.circuits = new CircuitAdmin(deps.engines, deps.circuits, audit);
    this.specs = new SpecAdmin(deps.engines, audit);
    this.specParts = new SpecPartsAdmin(this.specs, deps.engines);
    this.config = new ConfigAdmin(deps.store, audit);
    this.alerts = new AlertAdmin(deps.store, audit, deps.evaluateAlerts);
    this.fleet = new FleetAdmin(
      {
        store: deps.store,
        engines: deps.engines,
        leases: deps.leases,
        events: deps.fleetEvents,
        runDir: deps.runDir,
      },
      audit,
    );
    this.rollouts = new RolloutAdmin(deps.store, deps.engines, deps.rollouts, audit);
    this.weights = new WeightsAdmin(deps.engines, deps.weights, audit);
    this.explain = new EngineExplainer(
      deps.store,
      (engine) => deps.views.healthHistoryNow(engine),
      (engine) => deps.engines.getNow(engine) !== undefined,
    );
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
    return this.views.view(spec!);
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
    return this.views.view(spec!);
  }

  /**
   * The audit line of a change: who, through what, its request id, what it did. Values a caller chose
   * are cut (echo) so that a huge one cannot flood the log.
   */
  audit(ctx: AdminContext, action: string, fields: AuditFields): void {
    const shown: Record<string, string | number | boolean> = {};
    for (const [k, v] of Object.entries(fields))
      if (v !== undefined) shown[k] = typeof v === 'string' && v.length > 128 ? echo(v) : v;
    this.deps.logger.info('admin change', {
      action,
      actor: ctx.actor,
      from: ctx.from,
      via: ctx.via,
      requestId: ctx.requestId,
      ...shown,
    });
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
    return this.views.view(spec!);
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
