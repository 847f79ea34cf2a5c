import { type Computation, integerField, jsonInput, jsonOutput } from './computation';

const MAX = 1e12;

/** Trial division by 6k±1: exact for n up to 10^12 (at most ~170,000 divisions). */
export function isPrime(n: number): boolean {
  if (n < 2) return false;
  if (n % 2 === 0) return n === 2;
  if (n % 3 === 0) return n === 3;
  for (let d = 5; d * d <= n; d += 6) if (n % d === 0 || n % (d + 2) === 0) return false;
  return true;
}

export const prime: Computation = {
  name: 'prime',
  description: '{"n": 0..10^12} → {"n", "prime": boolean}',
  run(payload) {
    const n = integerField(jsonInput(payload, 'prime', '{"n": 97}'), 'n', 'prime', 0, MAX);
    return jsonOutput({ n, prime: isPrime(n) });
  },
};
