import type { Picker, RoutableEndpoint, Strategy } from './picker';

/**
 * Least request by the power of two choices (Envoy's LEAST_REQUEST): sample two distinct endpoints at
 * random and take the one with fewer calls in flight relative to its weight. Cheap, no global scan, and
 * it avoids the herd that "always the least loaded" causes when many routers see the same numbers.
 */
class PowerOfTwoPicker implements Picker {
  constructor(
    private readonly endpoints: readonly RoutableEndpoint[],
    readonly reason: string,
    private readonly random: () => number,
  ) {}

  pick(): RoutableEndpoint | undefined {
    const n = this.endpoints.length;
    if (n < 2) return this.endpoints[0];
    const i = Math.floor(this.random() * n);
    let j = Math.floor(this.random() * (n - 1));
    if (j >= i) j++;
    const a = this.endpoints[i];
    const b = this.endpoints[j];
    // Compare inFlight/weight without dividing: a.inFlight * b.weight vs b.inFlight * a.weight.
    const left = a.stats.inFlight * b.weight;
    const right = b.stats.inFlight * a.weight;
    if (left !== right) return left < right ? a : b;
    return a.weight >= b.weight ? a : b;
  }
}

export function leastRequestWith(random: () => number): Strategy {
  return {
    name: 'least_request',
    build: (endpoints, reason) => new PowerOfTwoPicker(endpoints, reason, random),
  };
}

export const leastRequest: Strategy = leastRequestWith(Math.random);
