import { z } from 'zod';
import { parseInput } from '../commands/parse-input';
import { hostname } from 'node:os';
import { echo } from '../../model/echo';
import { type EngineSpec, findInstance } from '../../model/engine';
import { desiredReplicas } from '../../model/runtime';
import type { ConfigStore } from '../../store/config-store';
import { type EngineCatalog, updateEngine } from '../config/engine-catalog';
import { AUTOSCALE_NS, AUTOSCALE_PINS_NS, type AutoscalePin, type AutoscaleState } from './autoscaler';
import type { InstanceOp } from './driver';
import type { FleetEvent } from '../../model/fleet/fleet-event';
import type { FleetEvents } from './fleet-events';
import { type LeaseGrant, type LeaseRecord, type Leases, type RegisterInput } from './leases';
import { type OutputStream, outputPaths, tailOutput } from './output-files';
import { PROCESSES_NS, type ProcessRecord } from './process-record';
import { COMMANDS_NS, type InstanceCommand } from './supervisor';
import { type AdminContext, actorLabel, type Audit } from '../commands/admin-context';
import { NerveError } from '../../model/errors';

/** POST /engines/:name/scale, Admin/ScaleEngine. */
export const scaleSchema = z.strictObject({ replicas: z.number().int().min(0) });

/** POST /leases, Admin/Register (and `nerve engine --control-plane`). */
export const registerSchema = z.strictObject({
  engine: z.string().min(1),
  id: z.string().min(1),
  address: z.string().min(1),
  version: z.string().optional(),
  weight: z.number().int().min(0).optional(),
  priority: z.number().int().min(0).optional(),
  ttlMs: z.number().int().min(0).optional(),
  createEngine: z.boolean().optional(),
});

export interface FleetDeps {
  readonly store: ConfigStore;
  readonly engines: EngineCatalog;
  readonly leases: Leases;
  readonly events: FleetEvents;
  readonly runDir: string;
}

const MAX_TAIL = 1_000;

/**
 * Engine lifecycle for operators and instances (one implementation behind REST and admin gRPC): scale,
 * start / stop / restart of managed instances, their output, and registration with leases. Scaling is a
 * versioned write of `runtime.replicas`; instance operations go through the store to the leader, which
 * runs them, so any replica takes them.
 */
export class FleetAdmin {
  constructor(
    private readonly deps: FleetDeps,
    private readonly audit: Audit,
  ) {}

  /** `input` is `{"replicas": N}` (REST body, gRPC message alike), checked by scaleSchema. */
  /**
   * Sets an engine's replicas. An engine the autoscaler owns (runtime.autoscale, not a dry run) refuses
   * a manual scale with FAILED_PRECONDITION (409) naming the autoscaler, which would undo it at its next
   * evaluation, unless `force`: then the autoscaler leaves the engine at this count for its scale-down
   * cooldown.
   */
  async scale(
    engine: string,
    input: unknown,
    ctx: AdminContext,
    force = false,
  ): Promise<{ engine: string; replicas: number; previous: number; pinnedUntil?: string }> {
    const { replicas } = parseInput(scaleSchema, input, 'scale request');
    const autoscale = this.managed(engine, this.deps.engines.getNow(engine)).runtime!.autoscale;
    const owned = autoscale !== undefined && !autoscale.dryRun;
    if (owned && !force)
      throw new NerveError(
        'FAILED_PRECONDITION',
        `engine ${echo(engine)} is scaled by its autoscaler (runtime.autoscale), which would undo a manual scale at its next evaluation: change or remove runtime.autoscale, or add ?force=true to hold ${replicas} replicas for its scale-down cooldown (${autoscale.scaleDownCooldownMs} ms)`,
      );
    let pinnedUntil: number | undefined;
    if (owned) {
      pinnedUntil = Date.now() + Math.max(autoscale.scaleDownCooldownMs, autoscale.syncMs);
      const pin: AutoscalePin = { untilMs: pinnedUntil, replicas, by: ctx.actor };
      await AUTOSCALE_PINS_NS.put(this.deps.store, [[engine, pin]]);
    }
    let previous = 0;
    await updateEngine(
      this.deps.engines,
      engine,
      { actor: actorLabel(ctx), summary: `scale ${engine} to ${replicas}` },
      (current) => {
        const rt = this.managed(engine, current).runtime!;
        if (!Number.isInteger(replicas) || replicas < rt.minReplicas || replicas > rt.maxReplicas)
          throw new NerveError(
            'INVALID_ARGUMENT',
            `replicas must be an integer within ${rt.minReplicas}..${rt.maxReplicas} (minReplicas..maxReplicas of engine ${echo(engine)}), got ${replicas}`,
          );
        previous = desiredReplicas(rt);
        return previous === replicas && rt.replicas !== undefined
          ? undefined
          : { ...current!, runtime: { ...rt, replicas } };
      },
    );
    if (previous !== replicas)
      this.deps.events.record(
        'scaled',
        engine,
        `scaled ${previous} → ${replicas} by ${ctx.actor}`,
        undefined,
        {
          from: previous,
          to: replicas,
          by: ctx.actor,
        },
      );
    this.audit(ctx, 'scale engine', { engine, replicas, previous, ...(force && { forced: true }) });
    return {
      engine,
      replicas,
      previous,
      ...(pinnedUntil !== undefined && { pinnedUntil: new Date(pinnedUntil).toISOString() }),
    };
  }

  /** Queues start / stop / restart of a managed instance for the leader; returns once it is queued. */
  async operate(
    engine: string,
    instance: string,
    op: InstanceOp,
    ctx: AdminContext,
  ): Promise<{ engine: string; instance: string; op: InstanceOp; accepted: true }> {
    const spec = this.managed(engine, this.deps.engines.getNow(engine));
    if (!this.process(engine, instance) && !findInstance(spec, instance))
      throw new NerveError('NOT_FOUND', `engine ${echo(engine)} has no instance ${echo(instance)}`);
    const command: InstanceCommand = { op, at: new Date().toISOString(), by: ctx.actor };
    await COMMANDS_NS.put(this.deps.store, [[`${engine}/${instance}`, command]]);
    this.audit(ctx, `${op} instance`, { engine, instance });
    return { engine, instance, op, accepted: true };
  }

  /** The last lines a managed instance wrote, read on the host it runs on. */
  logs(
    engine: string,
    instance: string,
    stream: string,
    tail: number,
  ): { engine: string; instance: string; stream: OutputStream; host: string; lines: string[] } {
    if (stream !== 'stdout' && stream !== 'stderr')
      throw new NerveError('INVALID_ARGUMENT', `stream must be stdout or stderr, got ${echo(stream, 20)}`);
    if (!Number.isInteger(tail) || tail < 1 || tail > MAX_TAIL)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `tail must be an integer from 1 to ${MAX_TAIL}, got ${echo(String(tail), 20)}`,
      );
    this.managed(engine, this.deps.engines.getNow(engine));
    const record = this.process(engine, instance);
    if (!record)
      throw new NerveError('NOT_FOUND', `engine ${echo(engine)} runs no instance ${echo(instance)}`);
    if (record.host !== hostname())
      throw new NerveError(
        'FAILED_PRECONDITION',
        `the output of ${echo(engine)}/${echo(instance)} is on host ${record.host} (replica ${record.replica}); ask a replica there`,
      );
    const lines = tailOutput(outputPaths(this.deps.runDir, engine, instance)[stream], tail);
    return { engine, instance, stream, host: record.host, lines };
  }

  /** `input` is a registration (REST body, gRPC message alike), checked by registerSchema. */
  async register(raw: unknown, ctx: AdminContext): Promise<LeaseGrant> {
    const input: RegisterInput = parseInput(registerSchema, raw, 'registration');
    const grant = await this.deps.leases.register(input, ctx.actor, { name: ctx.actor, role: ctx.role });
    this.audit(ctx, 'register instance', {
      engine: input.engine,
      instance: input.id,
      address: input.address,
      ttlMs: grant.ttlMs,
    });
    return grant;
  }

  heartbeat(leaseId: string): Promise<LeaseGrant> {
    if (!leaseId) throw new NerveError('INVALID_ARGUMENT', 'lease_id is required');
    return this.deps.leases.heartbeat(leaseId);
  }

  async deregister(leaseId: string, ctx: AdminContext): Promise<void> {
    if (!leaseId) throw new NerveError('INVALID_ARGUMENT', 'lease_id is required');
    await this.deps.leases.deregister(leaseId, ctx.actor);
    this.audit(ctx, 'deregister instance', { lease: leaseId });
  }

  process(engine: string, instance: string): ProcessRecord | undefined {
    return PROCESSES_NS.get(this.deps.store, `${engine}/${instance}`);
  }

  lease(engine: string, instance: string): LeaseRecord | undefined {
    return this.deps.leases.lease(engine, instance);
  }

  events(engine: string): FleetEvent[] {
    return this.deps.events.list(engine);
  }

  /** An engine's lifecycle events and its autoscaler's last decisions (when it has one); NOT_FOUND without the engine. */
  history(engine: string): { events: FleetEvent[]; decisions: AutoscaleState['decisions'] } {
    const spec = this.deps.engines.getNow(engine);
    if (!spec) throw new NerveError('NOT_FOUND', `engine ${echo(engine)} not found`);
    const decisions = spec.runtime?.autoscale
      ? (AUTOSCALE_NS.get(this.deps.store, engine)?.decisions ?? [])
      : [];
    return { events: this.events(engine), decisions: decisions.slice(-10) };
  }

  /** The engine, when Nerve runs its instances; precise errors otherwise. */
  private managed(engine: string, spec: EngineSpec | undefined): EngineSpec {
    if (!spec) throw new NerveError('NOT_FOUND', `engine ${echo(engine)} not found`);
    if (spec.runtime?.driver !== 'process')
      throw new NerveError(
        'FAILED_PRECONDITION',
        `engine ${echo(engine)} runs on the static driver: its instances are managed elsewhere, so it cannot be scaled, started or stopped (set runtime.driver to "process")`,
      );
    return spec;
  }
}
