import type { EngineSpec } from '../../src/model/engine';
import { parseEngineSpec as fromSource } from '../../src/model/validate';

/**
 * engines × instances specs on made-up loopback addresses (nothing listens: health checks are off),
 * parsed by `parse` (the built one, where the control plane is the built one).
 */
export function benchFleet(engines: number, instances: number, parse = fromSource): EngineSpec[] {
  return Array.from({ length: engines }, (_, e) => {
    const r = parse({
      name: `engine-${e}`,
      instances: Array.from({ length: instances }, (_, i) => ({
        id: `i-${i}`,
        address: `127.${1 + (e >> 8)}.${e & 255}.${1 + (i % 250)}:${10_000 + i}`,
      })),
    });
    if (!r.ok) throw new Error(r.errors.join('; '));
    return r.value;
  });
}
