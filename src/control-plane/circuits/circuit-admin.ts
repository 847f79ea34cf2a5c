import { echo } from '../../model/echo';
import type { EngineSpec } from '../../model/engine';
import type { EngineCatalog } from '../config/engine-catalog';
import type { EngineCircuitStatus } from './circuit-board';
import { type AdminContext, SYSTEM, type Audit } from '../commands/admin-context';
import { NerveError } from '../../model/errors';

/** Where circuits live: their status, and resets that reach the fleet's leader. */
export interface Circuits {
  status(engine: string, instanceIds: readonly string[]): EngineCircuitStatus;
  reset(engine: string, instanceIds: string[], engineWide: boolean): Promise<void>;
}

/** Circuit-breaker operations of the admin API (gRPC ListCircuits / ResetCircuit, REST /circuit-breakers). */
export class CircuitAdmin {
  constructor(
    private readonly store: EngineCatalog,
    private readonly board: Circuits,
    private readonly audit: Audit = () => undefined,
  ) {}

  async list(engine?: string): Promise<EngineCircuitStatus[]> {
    const specs = engine ? [await this.require(engine)] : await this.store.list();
    return specs.map((s) => this.status(s));
  }

  /**
   * Closes circuits by hand: one instance's, or (no instance) the engine-wide one and every instance's.
   * Routers reset their own breakers when the next push reaches them.
   */
  async reset(engine: string, instanceId = '', ctx: AdminContext = SYSTEM): Promise<EngineCircuitStatus> {
    const spec = await this.require(engine);
    if (instanceId && !spec.instances.some((i) => i.id === instanceId))
      throw new NerveError('NOT_FOUND', `engine ${echo(engine)} has no instance ${echo(instanceId)}`);
    await this.board.reset(engine, instanceId ? [instanceId] : spec.instances.map((i) => i.id), !instanceId);
    this.audit(ctx, 'reset circuit', instanceId ? { engine, instance: instanceId } : { engine });
    return this.status(spec);
  }

  /** What a REST id names: an engine, or else the one engine holding an instance of that id. */
  async resolve(id: string): Promise<{ engine: string; instanceId: string }> {
    if (await this.store.get(id)) return { engine: id, instanceId: '' };
    const holders = (await this.store.list()).filter((s) => s.instances.some((i) => i.id === id));
    if (holders.length === 1) return { engine: holders[0].name, instanceId: id };
    if (holders.length === 0)
      throw new NerveError('NOT_FOUND', `no engine and no instance named ${echo(id)}`);
    throw new NerveError(
      'INVALID_ARGUMENT',
      `instance ${echo(id)} exists in engines ${holders.map((h) => echo(h.name)).join(', ')}; use /circuit-breakers/<engine>/instances/<id>/reset`,
    );
  }

  private status(spec: EngineSpec): EngineCircuitStatus {
    return this.board.status(
      spec.name,
      spec.instances.map((i) => i.id),
    );
  }

  private async require(name: string): Promise<EngineSpec> {
    const spec = await this.store.get(name);
    if (!spec) throw new NerveError('NOT_FOUND', `engine ${echo(name)} not found`);
    return spec;
  }
}
