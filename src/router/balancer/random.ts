import type { Picker, RoutableEndpoint, Strategy } from './picker';
import { weightedIndex } from './weighted-index';

/** Weighted random: each pick independent, probability in proportion to weight (prefix sums, binary search). */
class RandomPicker implements Picker {
  private readonly cumulative: Float64Array;

  constructor(
    private readonly endpoints: readonly RoutableEndpoint[],
    readonly reason: string,
    private readonly random: () => number,
  ) {
    this.cumulative = new Float64Array(endpoints.length);
    let sum = 0;
    endpoints.forEach((e, i) => (this.cumulative[i] = sum += e.weight));
  }

  pick(): RoutableEndpoint | undefined {
    const n = this.endpoints.length;
    if (n < 2) return this.endpoints[0];
    return this.endpoints[weightedIndex(this.cumulative, this.random() * this.cumulative[n - 1])];
  }
}

export function randomWith(random: () => number): Strategy {
  return { name: 'random', build: (endpoints, reason) => new RandomPicker(endpoints, reason, random) };
}

export const random = randomWith(Math.random);
