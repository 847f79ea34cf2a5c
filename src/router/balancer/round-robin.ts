import type { Picker, RoutableEndpoint, Strategy } from './picker';

/**
 * Smooth weighted round robin (as nginx): each pick adds every endpoint's weight to its credit, takes the
 * endpoint with the most credit and charges it the total. Equal weights give plain rotation; unequal
 * weights interleave evenly instead of in bursts. O(n) per pick, no allocation.
 */
class SmoothRoundRobinPicker implements Picker {
  private readonly credit: Float64Array;
  private readonly total: number;

  constructor(
    private readonly endpoints: readonly RoutableEndpoint[],
    readonly reason: string,
  ) {
    this.credit = new Float64Array(endpoints.length);
    this.total = endpoints.reduce((sum, e) => sum + e.weight, 0);
  }

  pick(): RoutableEndpoint | undefined {
    const n = this.endpoints.length;
    if (n === 0) return undefined;
    if (n === 1) return this.endpoints[0];
    let best = 0;
    for (let i = 0; i < n; i++) {
      this.credit[i] += this.endpoints[i].weight;
      if (this.credit[i] > this.credit[best]) best = i;
    }
    this.credit[best] -= this.total;
    return this.endpoints[best];
  }
}

export const roundRobin: Strategy = {
  name: 'round_robin',
  build: (endpoints, reason) => new SmoothRoundRobinPicker(endpoints, reason),
};
