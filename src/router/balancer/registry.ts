import { STRATEGIES } from '../../model/policy';
import type { Strategy } from './picker';
import { auto } from './auto';
import { leastRequest } from './least-request';
import { leastResponseTime } from './least-response-time';
import { probing } from './probing';
import { random } from './random';
import { roundRobin } from './round-robin';
import { sticky } from './sticky';

/** Strategies by name. Adding one: a new file and one entry here; a test checks STRATEGIES is covered. */
const registry = new Map<string, Strategy>(
  [roundRobin, sticky, leastRequest, leastResponseTime, random, auto, probing].map((s) => [s.name, s]),
);

export function getStrategy(name: string): Strategy | undefined {
  return registry.get(name);
}

export function hasStrategy(name: string): boolean {
  return registry.has(name);
}

export function strategyNames(): string[] {
  return [...registry.keys()];
}

/** Strategies the control plane may send that this router lacks (should be none). */
export function missingStrategies(): string[] {
  return STRATEGIES.filter((s) => !registry.has(s));
}
