import { hash32 } from './hash';
import type { Picker, RoutableEndpoint, Strategy } from './picker';
import { roundRobin } from './round-robin';

/** Points for the heaviest endpoint; others get points in proportion to their weight. */
const POINTS = 256;

/**
 * Sticky sessions by consistent hashing (a ring hash, as Envoy's and gRPC's ring_hash): each endpoint owns
 * points on a 32-bit ring in proportion to its weight; a session key maps to the first point at or after
 * its hash. Adding or removing one of N endpoints moves about 1/N of the keys. Calls without a session key
 * are balanced by weighted round robin.
 */
class RingHashPicker implements Picker {
  private readonly points: Uint32Array;
  private readonly owners: Uint32Array;
  private readonly fallback: Picker;

  constructor(
    private readonly endpoints: readonly RoutableEndpoint[],
    readonly reason: string,
  ) {
    this.fallback = roundRobin.build(endpoints, reason);
    // Points depend only on an endpoint's weight relative to the heaviest one, never on how many endpoints
    // there are: adding one leaves every other endpoint's points in place, so only its own keys move.
    const heaviest = endpoints.reduce((max, e) => Math.max(max, e.weight), 0);
    const ring: { hash: number; owner: number }[] = [];
    endpoints.forEach((e, owner) => {
      const count = Math.max(1, Math.round((e.weight / heaviest) * POINTS));
      for (let k = 0; k < count; k++) ring.push({ hash: hash32(`${e.id}#${k}`), owner });
    });
    ring.sort((a, b) => a.hash - b.hash);
    this.points = Uint32Array.from(ring, (p) => p.hash);
    this.owners = Uint32Array.from(ring, (p) => p.owner);
  }

  pick(sessionKey?: string): RoutableEndpoint | undefined {
    if (this.endpoints.length === 0) return undefined;
    if (sessionKey === undefined || sessionKey === '') return this.fallback.pick();
    const h = hash32(sessionKey);
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid] < h) lo = mid + 1;
      else hi = mid;
    }
    return this.endpoints[this.owners[lo === this.points.length ? 0 : lo]];
  }
}

export const sticky: Strategy = {
  name: 'sticky',
  build: (endpoints, reason) => new RingHashPicker(endpoints, reason),
};
