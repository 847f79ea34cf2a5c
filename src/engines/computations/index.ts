import type { Computation } from './computation';
import { echo } from './echo';
import { fibonacci } from './fibonacci';
import { matmul } from './matmul';
import { montecarlo } from './montecarlo';
import { prime } from './prime';
import { sha256 } from './sha256';

/** Every computation, by name. Adding one: a new file and one entry here. */
export const COMPUTATIONS: ReadonlyMap<string, Computation> = new Map(
  [echo, fibonacci, sha256, prime, matmul, montecarlo].map((c) => [c.name, c]),
);

/**
 * Demo engine types and the operations each answers. Every type answers `echo`; the type `echo` does
 * nothing else and is the benchmarks' baseline.
 */
export const ENGINE_TYPES: ReadonlyMap<string, readonly string[]> = new Map([
  ['echo', ['echo']],
  ['math', ['echo', 'fibonacci', 'prime']],
  ['crypto', ['echo', 'sha256']],
  ['matrix', ['echo', 'matmul']],
  ['montecarlo', ['echo', 'montecarlo']],
]);
