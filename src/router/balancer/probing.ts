import { performance } from 'node:perf_hooks';
import type { Picker, RoutableEndpoint, Strategy } from './picker';
import { weightedIndex } from './weighted-index';

/** Probes kept in the pool at most (Prequal's pool size). */
export const POOL_SIZE = 16;
/** Instances probed per pick (Prequal's probe rate, in probes per query). */
export const PROBES_PER_PICK = 2;
/** An instance whose calls in flight exceed this quantile of the engine's is hot (Prequal's Q_RIF). */
export const HOT_QUANTILE = 0.84;
/**
 * Picks between two recomputations of the engine-wide hot threshold, and instances it reads at most.
 * The threshold is thus the quantile of the recent past, as Prequal's is of its recent probes: instances
 * whose load rose since are hot, and one that stayed idle takes a share.
 */
const THRESHOLD_EVERY = 16;
const THRESHOLD_SAMPLE = 64;
/** What recent failures and load shed cost: an instance failing every call looks 21 times as slow. */
const FAILURE_PENALTY = 20;
/**
 * How fast a latency estimate fades without news (ms): an instance not picked for a while is worth one
 * more call, so a slow instance that recovered, or a cold one that warmed, is found again.
 */
const STALE_MS = 1_000;

/**
 * Prequal (NSDI '24) in a router's terms. Each pick probes a few instances, sampled by weight, into a
 * small pool (the oldest probe leaves); a probe reads what the router knows of the instance now: its
 * calls in flight (this router's own, or the instance's own count over every router from a fresh ORCA
 * report) and its recent latency of successful calls, at least the age of its oldest call out. Then
 * hot/cold: among pool members at or below the engine's in-flight quantile (cold), the lowest latency;
 * when every member is hot, or the best cold member answers slower than another would drain its calls
 * in flight, the soonest drained ((calls + 1) × latency).
 *
 * Latency counts successful calls only and is inflated by the share of recent calls the instance failed
 * or shed, so a fast RESOURCE_EXHAUSTED never makes an instance look attractive (the trap of
 * latency-based balancers that Linkerd's load biaser patches). Within a version, probes are sampled by
 * weight and calls in flight count per unit of weight. Allocation-free per pick: typed arrays sized once
 * per picker.
 */
class HotColdPool {
  private readonly cumulative: Float64Array;
  private readonly relWeight: Float64Array;
  private readonly pool: Int32Array;
  private readonly scratch: Float64Array;
  private size = 0;
  private next = 0;
  private threshold = 0;
  private picks = 0;

  constructor(
    private readonly endpoints: readonly RoutableEndpoint[],
    private readonly random: () => number,
    private readonly now: () => number,
  ) {
    const n = endpoints.length;
    this.cumulative = new Float64Array(n);
    this.relWeight = new Float64Array(n);
    let sum = 0;
    endpoints.forEach((e, i) => (this.cumulative[i] = sum += e.weight));
    endpoints.forEach((e, i) => (this.relWeight[i] = sum > 0 ? (e.weight * n) / sum : 1));
    this.pool = new Int32Array(Math.min(POOL_SIZE, n));
    this.scratch = new Float64Array(Math.min(n, THRESHOLD_SAMPLE));
  }

  pick(): RoutableEndpoint | undefined {
    const n = this.endpoints.length;
    if (n < 2) return this.endpoints[0];
    if (this.picks++ % THRESHOLD_EVERY === 0) this.threshold = this.hotThreshold();
    for (let k = 0; k < PROBES_PER_PICK; k++) this.probe(this.sample());
    const now = this.now();
    let cold = -1;
    let coldLatency = Infinity;
    let coolest = -1;
    let coolestLoad = Infinity;
    for (let k = 0; k < this.size; k++) {
      const i = this.pool[k];
      const rif = this.rif(i);
      const latency = this.latency(i, now);
      // The one whose calls in flight drain soonest: (calls + 1) × latency, which failures inflate (a
      // refusing instance has few in flight because it refuses them at once).
      const load = (rif + 1) * latency;
      if (load < coolestLoad) {
        coolestLoad = load;
        coolest = i;
      }
      if (rif <= this.threshold) {
        if (latency < coldLatency) {
          coldLatency = latency;
          cold = i;
        }
      }
    }
    // A cold member is worth its latency only while no member would drain its calls sooner: the
    // threshold is of the recent past, so when load rose everywhere at once the one member left cold
    // may be the slowest by far.
    return this.endpoints[cold >= 0 && coldLatency <= coolestLoad ? cold : coolest];
  }

  /** Calls in flight per unit of the instance's share of weight. */
  private rif(i: number): number {
    return this.endpoints[i].stats.requestsInFlight() / this.relWeight[i];
  }

  /**
   * Expected latency of a successful answer: recent served latency, faded by age while the instance has
   * nothing in flight (with calls out, news is coming: one exploratory call at a time), never below how
   * long its oldest call in flight has gone unanswered, inflated by failures.
   */
  private latency(i: number, now: number): number {
    const s = this.endpoints[i].stats;
    const age = now - s.servedAt;
    // Within a fiftieth of the fade an estimate is fresh enough (2 %): no exp on a busy instance.
    const fresh = s.servedAt === 0 || s.inFlight > 0 || age < STALE_MS / 50 ? 1 : Math.exp(-age / STALE_MS);
    const latency = Math.max(s.servedLatencyMs * fresh, s.unansweredMs(now));
    return s.failureEwma === 0 ? latency : latency * (1 + FAILURE_PENALTY * s.failureEwma);
  }

  private probe(i: number): void {
    for (let k = 0; k < this.size; k++) if (this.pool[k] === i) return; // already pooled: read live anyway
    if (this.size < this.pool.length) {
      this.pool[this.size++] = i;
      return;
    }
    this.pool[this.next] = i;
    this.next = (this.next + 1) % this.pool.length;
  }

  /** An instance at random in proportion to its weight. */
  private sample(): number {
    return weightedIndex(this.cumulative, this.random() * this.cumulative[this.cumulative.length - 1]);
  }

  /** The engine-wide in-flight quantile (over a sample of at most 64 instances): a member above it is hot. */
  private hotThreshold(): number {
    const n = this.scratch.length;
    const all = n === this.endpoints.length;
    const a = this.scratch;
    for (let i = 0; i < n; i++) {
      const v = this.rif(all ? i : this.sample());
      let j = i;
      while (j > 0 && a[j - 1] > v) {
        a[j] = a[j - 1];
        j--;
      }
      a[j] = v;
    }
    return a[Math.floor(HOT_QUANTILE * (n - 1))];
  }
}

/**
 * Versions first, then hot/cold within the chosen one: a version gets its configured share exactly
 * (weighted random over versions), whatever the load, so a canary at 10 % stays at 10 %.
 */
class ProbingPicker implements Picker {
  private readonly pools: HotColdPool[];
  private readonly cumulative: Float64Array;

  constructor(
    endpoints: readonly RoutableEndpoint[],
    readonly reason: string,
    private readonly random: () => number,
    now: () => number,
  ) {
    const byVersion = new Map<string, RoutableEndpoint[]>();
    for (const e of endpoints) {
      const group = byVersion.get(e.version);
      if (group) group.push(e);
      else byVersion.set(e.version, [e]);
    }
    const groups = [...byVersion.values()];
    this.pools = groups.map((g) => new HotColdPool(g, random, now));
    this.cumulative = new Float64Array(groups.length);
    let sum = 0;
    groups.forEach((g, i) => (this.cumulative[i] = sum += g.reduce((w, e) => w + e.weight, 0)));
  }

  pick(): RoutableEndpoint | undefined {
    const n = this.pools.length;
    if (n === 0) return undefined;
    if (n === 1) return this.pools[0].pick();
    return this.pools[weightedIndex(this.cumulative, this.random() * this.cumulative[n - 1])].pick();
  }
}

export function probingWith(random: () => number, now: () => number = () => performance.now()): Strategy {
  return {
    name: 'probing',
    build: (endpoints, reason) => new ProbingPicker(endpoints, reason, random, now),
  };
}

export const probing = probingWith(Math.random);
