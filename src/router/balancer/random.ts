import type { Picker, RoutableEndpoint, Strategy } from './picker';

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
    const x = this.random() * this.cumulative[n - 1];
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.cumulative[mid] <= x) lo = mid + 1;
      else hi = mid;
    }
    return this.endpoints[lo];
  }
}

export function randomWith(random: () => number): Strategy {
  return { name: 'random', build: (endpoints, reason) => new RandomPicker(endpoints, reason, random) };
}

export const random = randomWith(Math.random);
