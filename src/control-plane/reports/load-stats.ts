import type { InstanceLoad } from '../../../gen/nerve/report/v1/report';

export interface LoadView {
  readonly requests: number;
  readonly errors: number;
  readonly inFlight: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly reportedAtMs: number;
}

interface Entry {
  readonly load: InstanceLoad;
  readonly atMs: number;
}

/**
 * The newest report of every router for every instance. Reads sum over routers whose report is recent
 * (a router that went away stops counting after `staleAfterMs`); latency takes the worst router's figure.
 */
export class LoadStats {
  /** instance key → node id → newest entry */
  private readonly entries = new Map<string, Map<string, Entry>>();

  constructor(
    private readonly staleAfterMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  record(nodeId: string, loads: readonly InstanceLoad[]): void {
    const atMs = this.now();
    for (const load of loads) {
      const key = `${load.engine}/${load.instanceId}`;
      let byNode = this.entries.get(key);
      if (!byNode) this.entries.set(key, (byNode = new Map()));
      byNode.set(nodeId, { load, atMs });
    }
  }

  view(engine: string, instanceId: string): LoadView | undefined {
    const byNode = this.entries.get(`${engine}/${instanceId}`);
    if (!byNode) return undefined;
    const oldest = this.now() - this.staleAfterMs;
    let requests = 0,
      errors = 0,
      inFlight = 0,
      p50Ms = 0,
      p99Ms = 0,
      reportedAtMs = 0;
    for (const [nodeId, { load, atMs }] of byNode) {
      if (atMs < oldest) {
        byNode.delete(nodeId);
        continue;
      }
      requests += load.requests;
      errors += load.errors;
      inFlight += load.inFlight;
      p50Ms = Math.max(p50Ms, load.latency?.p50Ms ?? 0);
      p99Ms = Math.max(p99Ms, load.latency?.p99Ms ?? 0);
      reportedAtMs = Math.max(reportedAtMs, atMs);
    }
    return reportedAtMs === 0 ? undefined : { requests, errors, inFlight, p50Ms, p99Ms, reportedAtMs };
  }
}
