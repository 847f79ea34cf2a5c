import { join } from 'node:path';
import type * as Plane from '../../src/control-plane/control-plane';
import type * as Logging from '../../src/observability/logger';
import type * as Store from '../../src/store/memory-store';
import type * as Validate from '../../src/model/validate';
import { benchFleet } from './fleet';

/**
 * The control plane as it runs: tsc's output in dist/ (npm run build), not this script's loader's
 * compilation of src/, which gives every function a property of its own (its name) and so adds some
 * 3 KB to each xDS stream's closures. BENCH_FROM_SOURCE=1 loads src/ instead; BENCH_ROOT names another
 * checkout (a previous version, measured beside this one).
 */
const FROM = process.env.BENCH_FROM_SOURCE === '1' ? '' : 'dist';
const ROOT = process.env.BENCH_ROOT ?? join(__dirname, '..', '..');

/** A module of the control plane by its built path (`src/…/x.js`), typed by the caller. */
export const load = async <T>(module: string): Promise<T> =>
  (await import(join(ROOT, FROM, FROM === '' ? module.replace(/\.js$/, '') : module))) as T;

/**
 * The built control plane the xDS benches measure: 10 engines of 10 instances, no health checks, no
 * debounce (a change is pushed at once), logging at `level`.
 */
export async function startBenchPlane(level: string): Promise<Plane.ControlPlane> {
  const { ControlPlane } = await load<typeof Plane>('src/control-plane/control-plane.js');
  const { createLogger } = await load<typeof Logging>('src/observability/logger.js');
  const { MemoryStore } = await load<typeof Store>('src/store/memory-store.js');
  const { parseEngineSpec } = await load<typeof Validate>('src/model/validate.js');
  return ControlPlane.start({
    store: new MemoryStore(),
    logger: createLogger('bench', level),
    host: '127.0.0.1',
    xdsPort: 0,
    engines: benchFleet(10, 10, parseEngineSpec),
    healthChecks: false,
    debounce: { debounceMs: 0, maxDelayMs: 0 },
  });
}
