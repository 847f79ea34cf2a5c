import { echo } from '../../model/echo';
import { findInstance } from '../../model/engine';
import { updateEngine, type EngineCatalog } from '../config/engine-catalog';
import type { WeightsModule } from './weights-module';
import type { AdminContext, Audit } from '../commands/admin-context';
import { NerveError } from '../../model/errors';

/**
 * Closed-loop weights for operators: each instance's weight with its inputs and why it moved
 * (`GET /engines/:name/weights`), and pins (a fixed weight the loop never moves), which are part of the
 * engine's spec and so versioned.
 */
export class WeightsAdmin {
  constructor(
    private readonly engines: EngineCatalog,
    private readonly weights: WeightsModule,
    private readonly audit: Audit,
  ) {}

  view(engine: string) {
    const spec = this.engines.getNow(engine);
    if (!spec) throw new NerveError('NOT_FOUND', `engine ${echo(engine)} not found`);
    const policy = spec.adaptiveWeights;
    const state = this.weights.weights(engine);
    const served = this.weights.effective(spec);
    return {
      engine,
      enabled: policy?.enabled ?? false,
      policy: policy ?? null,
      computedAt: state?.at ?? null,
      publishedAt: state?.publishedAt ?? null,
      instances: served.instances.map((i) => {
        const w = state?.instances.find((x) => x.id === i.id);
        const configured = spec.instances.find((x) => x.id === i.id)?.weight ?? i.weight;
        return {
          id: i.id,
          configured,
          weight: i.weight,
          pinned: policy?.pinned[i.id] !== undefined,
          factor: w?.factor ?? 1,
          target: w?.target ?? 1,
          inputs: w?.inputs ?? null,
          reason: !policy?.enabled
            ? 'closed-loop weights are off: the configured weight'
            : policy.pinned[i.id] !== undefined
              ? 'pinned by an operator'
              : (w?.reason ?? 'not measured yet: the configured weight'),
        };
      }),
    };
  }

  /** Pins an instance's weight (undefined: unpins), as a versioned change of the engine's spec. */
  async pin(engine: string, instance: string, weight: number | undefined, ctx: AdminContext) {
    if (weight !== undefined && (!Number.isInteger(weight) || weight < 0 || weight > 1_000_000))
      throw new NerveError('INVALID_ARGUMENT', `weight must be an integer from 0 to 1000000, got ${weight}`);
    await updateEngine(
      this.engines,
      engine,
      {
        actor: ctx.actor,
        summary: `${weight === undefined ? 'unpin' : `pin ${weight} for`} ${engine}/${instance}`,
      },
      (current) => {
        if (!current) throw new NerveError('NOT_FOUND', `engine ${echo(engine)} not found`);
        if (!findInstance(current, instance))
          throw new NerveError('NOT_FOUND', `engine ${echo(engine)} has no instance ${echo(instance)}`);
        const policy = current.adaptiveWeights;
        if (!policy)
          throw new NerveError(
            'FAILED_PRECONDITION',
            `engine ${echo(engine)} has no adaptiveWeights: set its instance weight instead`,
          );
        const pinned = { ...policy.pinned };
        if (weight === undefined) delete pinned[instance];
        else pinned[instance] = weight;
        return { ...current, adaptiveWeights: { ...policy, pinned } };
      },
    );
    this.audit(ctx, weight === undefined ? 'unpin weight' : 'pin weight', { engine, instance, weight });
    return this.view(engine);
  }
}
