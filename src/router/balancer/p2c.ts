import type { Picker, RoutableEndpoint, Strategy } from './picker';

/** Lower is better. Must be cheap: it runs twice per pick. */
export type Cost = (e: RoutableEndpoint) => number;

/**
 * The power of two choices: sample two distinct endpoints at random and take the cheaper. Nearly as good
 * as always taking the cheapest, without a scan, and without the herd that follows when many routers see
 * the same numbers and all pick the same "best" endpoint.
 */
class PowerOfTwoPicker implements Picker {
  constructor(
    private readonly endpoints: readonly RoutableEndpoint[],
    readonly reason: string,
    private readonly cost: Cost,
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
    const ca = this.cost(a);
    const cb = this.cost(b);
    if (ca !== cb) return ca < cb ? a : b;
    return a.weight >= b.weight ? a : b;
  }
}

export function p2cStrategy(name: string, cost: Cost, random: () => number = Math.random): Strategy {
  return { name, build: (endpoints, reason) => new PowerOfTwoPicker(endpoints, reason, cost, random) };
}
