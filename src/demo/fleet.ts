import type { EngineSpec } from '../model/engine';
import { parseEngineSpec } from '../model/validate';
import { ENGINE_TYPES } from '../engines/computations';
import { DemoEngine } from '../engines/engine-server';
import type { Logger } from '../observability/logger';

export interface Fleet {
  readonly engines: DemoEngine[];
  readonly specs: EngineSpec[];
  stop(graceMs: number): Promise<void>;
}

const TYPES = [...ENGINE_TYPES.keys()];
/** The engine that also runs a canary version at 10 % of traffic. */
export const CANARY_ENGINE = 'math';

/** Engine names for a fleet of n: the types first, then numbered copies (echo, math, …, echo-2, math-2, …). */
export function fleetNames(n: number): { name: string; type: string }[] {
  return Array.from({ length: n }, (_, i) => {
    const type = TYPES[i % TYPES.length];
    const round = Math.floor(i / TYPES.length);
    return { name: round === 0 ? type : `${type}-${round + 1}`, type };
  });
}

/**
 * Starts `engineCount` demo engines with `instances` instances each on loopback, plus one v2 instance of
 * the canary engine weighted 10 %, and returns their specs for the control plane.
 */
export async function startFleet(
  engineCount: number,
  instances: number,
  host: string,
  logger: Logger,
): Promise<Fleet> {
  const engines: DemoEngine[] = [];
  const specs: EngineSpec[] = [];
  for (const { name, type } of fleetNames(engineCount)) {
    const canary = name === CANARY_ENGINE;
    const members: DemoEngine[] = [];
    for (let i = 0; i < instances; i++)
      members.push(
        new DemoEngine({ type, name, version: 'v1', id: `${name}-${i + 1}`, host, port: 0, logger }),
      );
    if (canary)
      members.push(new DemoEngine({ type, name, version: 'v2', id: `${name}-v2-1`, host, port: 0, logger }));
    await Promise.all(members.map((m) => m.start()));
    engines.push(...members);
    const spec = parseEngineSpec({
      name,
      versions: canary
        ? [
            { name: 'v1', weight: 90 },
            { name: 'v2', weight: 10 },
          ]
        : [{ name: 'v1', weight: 100 }],
      instances: members.map((m) => ({ id: m.id, address: m.address, version: m.version })),
      policy: { healthCheck: { intervalMs: 2_000, timeoutMs: 1_000 } },
    });
    if (!spec.ok) throw new Error(`demo engine ${name}: ${spec.errors.join('; ')}`);
    specs.push(spec.value);
  }
  return {
    engines,
    specs,
    stop: async (graceMs) => void (await Promise.all(engines.map((e) => e.stop(graceMs)))),
  };
}
