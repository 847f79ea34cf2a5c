import { randomBytes } from 'node:crypto';
import { echo } from '../../model/echo';
import { ACTIVE, type Rollout, withPendingCommand } from '../../model/rollout';
import { parseRolloutInput } from '../../model/rollout-input';
import type { ConfigStore } from '../../store/config-store';
import type { EngineCatalog } from '../config/engine-catalog';
import { ROLLOUT_COMMANDS_NS, ROLLOUTS_NS, type RolloutModule, type RolloutOp } from './rollout-module';
import type { AdminContext, Audit } from '../commands/admin-context';
import { NerveError } from '../../model/errors';

/**
 * Rollouts for operators (REST and admin gRPC): create one (validated, one active per engine), list,
 * read, and pause / resume / abort / promote — queued for the leader, which runs rollouts.
 */
export class RolloutAdmin {
  constructor(
    private readonly store: ConfigStore,
    private readonly engines: EngineCatalog,
    private readonly module: RolloutModule,
    private readonly audit: Audit,
  ) {}

  list(engine: string): Rollout[] {
    this.engine(engine);
    return this.module.list(engine).map((r) => this.pending(r));
  }

  get(engine: string, id: string): Rollout {
    return this.pending(this.stored(engine, id));
  }

  /** The rollout with an operator's command the leader has not taken yet shown as taken (read your writes). */
  private pending(r: Rollout): Rollout {
    const command = ROLLOUT_COMMANDS_NS.get(this.store, `${r.engine}/${r.id}`);
    return withPendingCommand(r, command);
  }

  private stored(engine: string, id: string): Rollout {
    const r = ROLLOUTS_NS.get(this.store, `${engine}/${id}`);
    if (!r) throw new NerveError('NOT_FOUND', `engine ${echo(engine)} has no rollout ${echo(id)}`);
    return r;
  }

  async create(engine: string, input: unknown, ctx: AdminContext): Promise<Rollout> {
    const spec = this.engine(engine);
    const parsed = parseRolloutInput(input);
    if (!parsed.ok)
      throw new NerveError('INVALID_ARGUMENT', `invalid rollout: ${parsed.errors.join('; ')}`, parsed.errors);
    const r = parsed.value;
    if (!spec.versions.some((v) => v.name === r.version))
      throw new NerveError(
        'FAILED_PRECONDITION',
        `engine ${echo(engine)} has no version ${echo(r.version)} yet: register or configure its instances first (has: ${spec.versions.map((v) => v.name).join(', ')})`,
      );
    if (!spec.versions.some((v) => v.name !== r.version && v.weight > 0))
      throw new NerveError(
        'FAILED_PRECONDITION',
        `engine ${echo(engine)} has no other version with traffic to compare ${echo(r.version)} with`,
      );
    if (r.analysis.baseline && spec.runtime?.driver !== 'process')
      throw new NerveError(
        'FAILED_PRECONDITION',
        `a baseline needs engine ${echo(engine)} to run on the process driver: Nerve starts the stable version's replicas beside the canary`,
      );
    const active = this.module.list(engine).find((x) => ACTIVE.has(x.state));
    if (active)
      throw new NerveError(
        'FAILED_PRECONDITION',
        `engine ${echo(engine)} already has an active rollout ${active.id} (${active.state}); abort or finish it first`,
      );
    const rollout: Rollout = {
      id: `${r.version}-${randomBytes(3).toString('hex')}`,
      engine,
      version: r.version,
      steps: r.steps,
      intervalMs: r.intervalMs,
      analysis: r.analysis,
      webhooks: r.webhooks,
      ...(r.match.length > 0 && { match: r.match }),
      ...(r.mirror && { mirror: r.mirror }),
      state: 'progressing',
      step: -1,
      weight: 0,
      failedChecks: 0,
      original: {},
      createdAt: new Date().toISOString(),
      createdBy: ctx.actor,
      stepStartedAtMs: 0,
      history: [],
    };
    await ROLLOUTS_NS.put(this.store, [[`${engine}/${rollout.id}`, rollout]]);
    this.audit(ctx, 'create rollout', {
      engine,
      rollout: rollout.id,
      version: r.version,
      steps: r.steps.join(','),
    });
    return rollout;
  }

  async act(engine: string, id: string, op: RolloutOp, ctx: AdminContext): Promise<Rollout> {
    const r = this.get(engine, id); // with a command already queued taken into account
    if (!ACTIVE.has(r.state))
      throw new NerveError('FAILED_PRECONDITION', `rollout ${echo(id)} is ${r.state}: nothing to ${op}`);
    if (op === 'pause' && r.state === 'paused')
      throw new NerveError('FAILED_PRECONDITION', `rollout ${echo(id)} is already paused`);
    if (op === 'resume' && r.state !== 'paused')
      throw new NerveError('FAILED_PRECONDITION', `rollout ${echo(id)} is not paused`);
    await ROLLOUT_COMMANDS_NS.put(this.store, [
      [`${engine}/${id}`, { op, by: ctx.actor, at: new Date().toISOString() }],
    ]);
    this.audit(ctx, `${op} rollout`, { engine, rollout: id });
    return this.get(engine, id);
  }

  private engine(name: string) {
    const spec = this.engines.getNow(name);
    if (!spec) throw new NerveError('NOT_FOUND', `engine ${echo(name)} not found`);
    return spec;
  }
}
