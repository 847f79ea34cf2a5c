import { join } from 'node:path';

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
