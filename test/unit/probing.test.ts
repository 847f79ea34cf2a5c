import { EngineCluster, HealthStatus } from '../../gen/nerve/discovery/v1/resources';
import { encodeOrca, ORCA_TRAILER } from '../../src/model/orca';
import { defaultPolicy } from '../../src/model/policy';
import { selectEndpoints } from '../../src/router/balancer/endpoints';
import type { RoutableEndpoint } from '../../src/router/balancer/picker';
import { probingWith } from '../../src/router/balancer/probing';
import { getStrategy } from '../../src/router/balancer/registry';
import { InstanceStats, noteOrca } from '../../src/router/stats/instance-stats';

/** A seeded generator, so a failing pick sequence can be replayed. */
function seeded(seed = 7): () => number {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 31;
  };
}

function endpoints(weights: number[], versions?: string[]): RoutableEndpoint[] {
  const c = EngineCluster.fromPartial({
    name: 'e',
    versions: versions
      ? [
          { name: 'v1', weight: 90 },
          { name: 'v2', weight: 10 },
        ]
      : [{ name: 'v1', weight: 100 }],
    endpoints: weights.map((weight, i) => ({
      id: `i${i}`,
      address: `127.0.0.1:${1000 + i}`,
      version: versions?.[i] ?? 'v1',
      weight,
      health: HealthStatus.HEALTH_STATUS_HEALTHY,
    })),
    policy: defaultPolicy(),
  });
  return selectEndpoints(c, (id) => new InstanceStats('e', id)).endpoints;
}

/** Serves `n` calls of `latencyMs` each on an endpoint at `now` (successes unless `code`). */
function served(e: RoutableEndpoint, latencyMs: number, now: number, n = 5, code = 0): void {
  for (let i = 0; i < n; i++) {
    e.stats.started(now);
    e.stats.finished(code, latencyMs, now);
  }
}

function tally(picker: { pick(): RoutableEndpoint | undefined }, n: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const id = picker.pick()!.id;
    out[id] = (out[id] ?? 0) + 1;
  }
  return out;
}

describe('probing balancer (Prequal hot/cold)', () => {
  it('is registered under its policy name', () => {
    expect(getStrategy('probing')?.name).toBe('probing');
  });

  it('among cold instances, picks the lowest latency', () => {
    const now = 10_000;
    const eps = endpoints([100, 100, 100, 100]);
    served(eps[0], 50, now);
    served(eps[1], 5, now);
    served(eps[2], 20, now);
    served(eps[3], 20, now);
    const picker = probingWith(seeded(), () => now).build(eps, '');
    const c = tally(picker, 200);
    // Once probed into the pool, the fastest cold instance takes the calls.
    expect(c.i1).toBeGreaterThan(180);
    expect(c.i0 ?? 0).toBe(0);
  });

  it('leaves a hot instance (calls in flight above the quantile) for a slower cold one', () => {
    const now = 10_000;
    const eps = endpoints([100, 100, 100, 100]);
    for (const e of eps) served(e, 20, now);
    served(eps[1], 2, now, 20); // the fastest …
    eps[1].stats.inFlight = 40; // … but piled up
    const c = tally(probingWith(seeded(), () => now).build(eps, ''), 200);
    expect(c.i1 ?? 0).toBe(0);
  });

  it('when every pooled instance is hot, picks the fewest in flight', () => {
    const now = 10_000;
    const eps = endpoints([100, 100]);
    served(eps[0], 1, now);
    served(eps[1], 100, now);
    eps[0].stats.inFlight = 9;
    eps[1].stats.inFlight = 3;
    // With two instances the quantile is the lower one's count: the busier is hot, the other cold.
    expect(
      probingWith(seeded(), () => now)
        .build(eps, '')
        .pick()!.id,
    ).toBe('i1');
  });

  it('passes over the one cold member when a hot one would drain its calls sooner than it answers', () => {
    const now = 10_000;
    const eps = endpoints([100, 100, 100, 100]);
    for (const e of eps.slice(0, 3)) served(e, 20, now);
    served(eps[3], 500, now); // cold caches: ten times as slow
    const picker = probingWith(seeded(), () => now).build(eps, '');
    // Idle: the threshold of this recent past is 0 calls in flight, and the pool fills.
    expect(tally(picker, 15).i3 ?? 0).toBe(0);
    // Load rises on the three fast ones at once: against the old threshold, only the slow one is cold,
    // yet each fast one drains its 3 calls and this one in 4 × 20 ms, sooner than 500 ms.
    for (const e of eps.slice(0, 3)) e.stats.inFlight = 3;
    expect(picker.pick()!.id).not.toBe('i3');
  });

  it('counts calls still unanswered: an instance is at least as slow as its oldest call out', () => {
    const now = 10_000;
    const eps = endpoints([100, 100]);
    served(eps[0], 100, now);
    eps[0].stats.started(now);
    // i1 has never answered (its estimate is the 30 ms default) and its call has been out 500 ms.
    eps[1].stats.started(now - 500);
    expect(eps[1].stats.unansweredMs(now)).toBe(500);
    const c = tally(probingWith(seeded(), () => now).build(eps, ''), 50);
    expect(c.i1 ?? 0).toBe(0);
    // A second call, 100 ms out: once the first answers, the bound is the second's age.
    eps[1].stats.started(now - 100);
    eps[1].stats.finished(0, 500, now);
    expect(eps[1].stats.unansweredMs(now)).toBe(100);
    eps[1].stats.finished(0, 100, now);
    expect(eps[1].stats.unansweredMs(now)).toBe(0);
  });

  it('never finds an instance attractive for answering fast with RESOURCE_EXHAUSTED', () => {
    const now = 10_000;
    const eps = endpoints([100, 100, 100]);
    served(eps[0], 10, now);
    served(eps[1], 10, now);
    served(eps[2], 10, now, 2);
    served(eps[2], 0.2, now, 20, 8); // sheds load in 0.2 ms
    const c = tally(probingWith(seeded(), () => now).build(eps, ''), 300);
    expect(c.i2 ?? 0).toBe(0);
    expect(eps[2].stats.servedLatencyMs).toBeGreaterThan(5); // errors never lowered it
  });

  it('tries again an instance it has not heard from for a while (a cold one that warmed)', () => {
    let now = 10_000;
    const eps = endpoints([100, 100]);
    served(eps[0], 10, now);
    served(eps[1], 100, now); // cold start: slow
    const picker = probingWith(seeded(), () => now).build(eps, '');
    expect(tally(picker, 50).i1 ?? 0).toBe(0);
    now += 4_000; // i0 keeps serving; i1's estimate fades
    served(eps[0], 10, now);
    expect(picker.pick()!.id).toBe('i1');
  });

  it('reads calls in flight over every router from a fresh ORCA report', () => {
    const now = 10_000;
    const eps = endpoints([100, 100, 100, 100]);
    for (const e of eps) served(e, 10, now);
    served(eps[3], 1, now);
    // i3 is idle in this router but reports 50 calls in flight from others.
    const orca = encodeOrca({ namedMetrics: { rif: 50 } }).toString('base64');
    noteOrca(eps[3].stats, [ORCA_TRAILER, orca]);
    expect(eps[3].stats.requestsInFlight()).toBe(50);
    const c = tally(probingWith(seeded(), () => now).build(eps, ''), 200);
    expect(c.i3 ?? 0).toBe(0);
  });

  it('keeps version shares: a version is chosen by its weight before hot/cold', () => {
    const eps = endpoints([100, 100, 100, 100], ['v1', 'v1', 'v1', 'v2']);
    // Nothing measured, nothing in flight: latencies and counts tie, so shares follow the probes.
    const picker = probingWith(seeded(3), () => 0).build(eps, '');
    let canary = 0;
    for (let i = 0; i < 5_000; i++) {
      const e = picker.pick()!;
      e.stats.started(0); // load builds as in a real fleet, and is spread by hot/cold
      if (e.version === 'v2') canary++;
      if (i % 4 === 3) for (const x of eps) x.stats.inFlight = 0;
    }
    expect(Math.abs(canary / 5_000 - 0.1)).toBeLessThan(0.02);
  });
});
