import type { InstanceLoad } from '../../../gen/nerve/report/v1/report';
import { LATENCY_LAYOUT, quantileOf } from '../../model/latency-buckets';

/** Marks histograms that cannot be added up (another layout, or a reporter without one: LRS). */
const MIXED = 'mixed';

/**
 * Adds a report's histogram to the running sum. A report without calls adds nothing; one with calls but no
 * histogram in the router layout (an LRS report) makes the sum MIXED: percentiles then fall back to the
 * worst reporter's.
 */
function addHistogram(
  sum: number[] | typeof MIXED | undefined,
  load: InstanceLoad,
): number[] | typeof MIXED | undefined {
  if (sum === MIXED || load.requests === 0) return sum;
  const l = load.latency;
  if (!l || l.baseMs !== LATENCY_LAYOUT.baseMs || l.growth !== LATENCY_LAYOUT.growth) return MIXED;
  const out = sum ?? [];
  l.counts.forEach((n, i) => (out[i] = (out[i] ?? 0) + n));
  return out;
}

function maxMs(fresh: readonly { value: InstanceLoad }[]): number {
  return fresh.reduce((m, { value }) => Math.max(m, value.latency?.maxMs ?? 0), 0);
}

export interface LoadView {
  readonly requests: number;
  readonly errors: number;
  readonly inFlight: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly reportedAtMs: number;
  /** Named load metrics summed over reporters (LRS load_metric_stats). */
  readonly loadMetrics: Readonly<Record<string, number>>;
}

/** The newest value each reporting node sent per key; values older than `staleAfterMs` no longer count. */
class NewestByNode<T> {
  private readonly entries = new Map<string, Map<string, { value: T; atMs: number }>>();

  constructor(
    private readonly staleAfterMs: number,
    private readonly now: () => number,
  ) {}

  record(key: string, nodeId: string, value: T): void {
    let byNode = this.entries.get(key);
    if (!byNode) this.entries.set(key, (byNode = new Map()));
    byNode.set(nodeId, { value, atMs: this.now() });
  }

  /** Fresh values with their times; stale ones are dropped on the way. */
  fresh(key: string): { value: T; atMs: number }[] {
    const byNode = this.entries.get(key);
    if (!byNode) return [];
    const oldest = this.now() - this.staleAfterMs;
    const out: { value: T; atMs: number }[] = [];
    for (const [nodeId, entry] of byNode) {
      if (entry.atMs < oldest) byNode.delete(nodeId);
      else out.push(entry);
    }
    return out;
  }
}

/**
 * What routers (report stream) and xDS clients (LRS) last reported, per instance and per engine. Reads sum
 * over reporters whose report is recent (one that went away stops counting after `staleAfterMs`);
 * latency takes the worst reporter's figure.
 */
export class LoadStats {
  private readonly instances: NewestByNode<InstanceLoad>;
  private readonly drops: NewestByNode<number>;

  constructor(staleAfterMs: number, now: () => number = Date.now) {
    this.instances = new NewestByNode(staleAfterMs, now);
    this.drops = new NewestByNode(staleAfterMs, now);
  }

  record(nodeId: string, loads: readonly InstanceLoad[]): void {
    for (const load of loads) this.instances.record(`${load.engine}/${load.instanceId}`, nodeId, load);
  }

  /** Calls an xDS client dropped for an engine over its last interval (LRS reports drops per cluster). */
  recordDropped(nodeId: string, engine: string, dropped: number): void {
    this.drops.record(engine, nodeId, dropped);
  }

  view(engine: string, instanceId: string): LoadView | undefined {
    const fresh = this.instances.fresh(`${engine}/${instanceId}`);
    if (fresh.length === 0) return undefined;
    let merged: number[] | typeof MIXED | undefined;
    let requests = 0,
      errors = 0,
      inFlight = 0,
      p50Ms = 0,
      p99Ms = 0,
      reportedAtMs = 0;
    const loadMetrics: Record<string, number> = {};
    for (const { value: load, atMs } of fresh) {
      requests += load.requests;
      errors += load.errors;
      inFlight += load.inFlight;
      p50Ms = Math.max(p50Ms, load.latency?.p50Ms ?? 0);
      p99Ms = Math.max(p99Ms, load.latency?.p99Ms ?? 0);
      merged = addHistogram(merged, load);
      reportedAtMs = Math.max(reportedAtMs, atMs);
      for (const [name, v] of Object.entries(load.loadMetrics ?? {}))
        loadMetrics[name] = (loadMetrics[name] ?? 0) + v;
    }
    if (merged && merged !== MIXED) {
      // Percentiles over every router's calls together, not the worst router's.
      p50Ms = quantileOf(LATENCY_LAYOUT, merged, 0.5, maxMs(fresh));
      p99Ms = quantileOf(LATENCY_LAYOUT, merged, 0.99, maxMs(fresh));
    }
    return { requests, errors, inFlight, p50Ms, p99Ms, reportedAtMs, loadMetrics };
  }

  dropped(engine: string): number {
    return this.drops.fresh(engine).reduce((sum, { value }) => sum + value, 0);
  }
}
