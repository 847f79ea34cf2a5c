import { updateEngine } from '../config/engine-catalog';
import type { InstanceSpec } from '../../model/engine';
import type { FleetContext } from './fleet-context';

/**
 * The supervisor's writes to engine specs: listing a ready instance, draining it, taking it out. Each is
 * one versioned change by `supervisor`, fenced, so a deposed leader cannot write.
 */
export class SpecWriter {
  constructor(private readonly ctx: FleetContext) {}

  /** Lists (or updates) an instance, in rotation. */
  async list(engine: string, id: string, address: string, version: string): Promise<void> {
    await this.change(engine, `instance ${engine}/${id} serving at ${address}`, (instances) => {
      const at = instances.findIndex((i) => i.id === id);
      const prev = at >= 0 ? instances[at] : undefined;
      if (prev && prev.address === address && prev.version === version && !prev.draining) return undefined;
      const next: InstanceSpec = {
        id,
        address,
        version,
        weight: prev?.weight ?? 100,
        priority: prev?.priority ?? 0,
        draining: false,
      };
      return at >= 0 ? instances.map((i, n) => (n === at ? next : i)) : [...instances, next];
    });
  }

  async drain(engine: string, id: string): Promise<void> {
    await this.change(engine, `drain ${engine}/${id} before stopping it`, (instances) =>
      instances.some((i) => i.id === id && !i.draining)
        ? instances.map((i) => (i.id === id ? { ...i, draining: true } : i))
        : undefined,
    );
  }

  async unlist(engine: string, ids: readonly string[]): Promise<void> {
    await this.change(engine, `remove ${ids.map((id) => `${engine}/${id}`).join(', ')}`, (instances) =>
      instances.some((i) => ids.includes(i.id)) ? instances.filter((i) => !ids.includes(i.id)) : undefined,
    );
  }

  private async change(
    engine: string,
    summary: string,
    fn: (instances: readonly InstanceSpec[]) => InstanceSpec[] | undefined,
  ): Promise<void> {
    const fence = this.ctx.leader.fence;
    if (!fence) return;
    await updateEngine(this.ctx.engines, engine, { actor: 'supervisor', summary, fence }, (current) => {
      if (!current) return undefined;
      const instances = fn(current.instances);
      return instances && { ...current, instances };
    });
  }
}
