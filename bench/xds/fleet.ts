import type { EngineSpec } from '../../src/model/engine';
import { parseEngineSpec } from '../../src/model/validate';

/** engines × instances specs on made-up loopback addresses (nothing listens: health checks are off). */
export function benchFleet(engines: number, instances: number): EngineSpec[] {
  return Array.from({ length: engines }, (_, e) => {
    const r = parseEngineSpec({
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
