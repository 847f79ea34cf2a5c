import {
  CLUSTER_LOAD_ASSIGNMENT_TYPE,
  CLUSTER_TYPE,
  ENGINE_CIRCUITS_TYPE,
  ENGINE_OVERRIDES_TYPE,
  ENGINE_CLUSTER_TYPE,
  LISTENER_TYPE,
  ROUTE_CONFIGURATION_TYPE,
  ROUTE_TABLE_TYPE,
} from '../../protocol/type-urls';
import { Counter, Gauge, type Registry } from 'prom-client';
import { ReportedHistogram } from '../metrics/reported-histogram';
import type { Snapshot } from '../../model/snapshot';
import type { AdsServerHooks } from './ads-server';

/** Short names of type URLs for labels (`envoy.config.cluster.v3.Cluster` → `Cluster`). */
function typeLabel(typeUrl: string): string {
  const dot = typeUrl.lastIndexOf('.');
  return dot < 0 ? typeUrl : typeUrl.slice(dot + 1);
}

const SERVED_TYPES = [
  ENGINE_CLUSTER_TYPE,
  ROUTE_TABLE_TYPE,
  ENGINE_CIRCUITS_TYPE,
  ENGINE_OVERRIDES_TYPE,
  LISTENER_TYPE,
  ROUTE_CONFIGURATION_TYPE,
  CLUSTER_TYPE,
  CLUSTER_LOAD_ASSIGNMENT_TYPE,
];

/** One resource type's figures between two collections, and its series resolved once. */
interface TypeCounts {
  readonly type: string;
  sotw: number;
  delta: number;
  acks: number;
  heartbeats: number;
  readonly delay: (seconds: number) => void;
  /** The convergence gauge's newest value, not yet handed over (undefined: none since). */
  converged: number | undefined;
}

/** Publications kept to time ACKs against: a client more than this many versions behind is not timed. */
const KEPT_VERSIONS = 16;

/**
 * xDS metrics: pushes, ACKs and NACKs by type, streams by protocol, and how long a change takes to be
 * ACKed: from the snapshot's publication to each client's ACK (a histogram), and for the newest
 * publication of each type, to the last ACK so far (a gauge: "time to converge").
 */
export class XdsMetrics {
  readonly hooks: AdsServerHooks;
  /** typeUrl → version → when it was published (ms). */
  private readonly published = new Map<string, Map<string, number>>();

  /** typeUrl → the newest version published (an ACK of it sets the convergence gauge). */
  private readonly newest = new Map<string, string>();

  constructor(
    registry: Registry,
    counts: () => { sotw: number; delta: number },
    firstResponses: () => { waiting: number; inFlight: number } = () => ({ waiting: 0, inFlight: 0 }),
  ) {
    const registers = [registry];
    // A push and an ACK per stream per change (a fleet-wide push is 10,000 of each): they are added up
    // here, per type, and handed to prom-client when it collects, which hashes a label set per call.
    const perType = new Map<string, TypeCounts>();
    const flush = (pick: (c: TypeCounts) => number, apply: (c: TypeCounts, n: number) => void) => {
      for (const c of perType.values()) {
        const n = pick(c);
        if (n > 0) apply(c, n);
      }
    };
    new Counter({
      name: 'nerve_xds_pushes_total',
      help: 'xDS responses sent, by resource type and protocol',
      labelNames: ['type', 'protocol'],
      registers,
      collect() {
        flush(
          (c) => c.sotw + c.delta,
          (c) => {
            if (c.sotw > 0) this.inc({ type: c.type, protocol: 'sotw' }, c.sotw);
            if (c.delta > 0) this.inc({ type: c.type, protocol: 'delta' }, c.delta);
            c.sotw = c.delta = 0;
          },
        );
      },
    });
    new Counter({
      name: 'nerve_xds_acks_total',
      help: 'xDS responses clients accepted, by resource type',
      labelNames: ['type'],
      registers,
      collect() {
        flush(
          (c) => c.acks,
          (c, n) => {
            this.inc({ type: c.type }, n);
            c.acks = 0;
          },
        );
      },
    });
    const nacks = new Counter({
      name: 'nerve_xds_nacks_total',
      help: 'xDS responses clients rejected (NACK), by resource type',
      labelNames: ['type'],
      registers,
    });
    // Every type served exists at 0 from the start: a rule or panel on NACKs has data before the first.
    for (const typeUrl of SERVED_TYPES) nacks.inc({ type: typeLabel(typeUrl) }, 0);
    const ackDelay = new ReportedHistogram(
      'nerve_xds_ack_delay_seconds',
      "Time from a snapshot's publication to a client's ACK of it, by resource type",
      ['type'],
      registry,
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    );
    new Gauge({
      name: 'nerve_xds_convergence_seconds',
      help: 'For the newest publication of each type: time from publication to the last ACK of it so far',
      labelNames: ['type'],
      registers,
      collect() {
        for (const c of perType.values())
          if (c.converged !== undefined) {
            this.set({ type: c.type }, c.converged);
            c.converged = undefined;
          }
      },
    });
    new Gauge({
      name: 'nerve_xds_connected_clients',
      help: 'xDS streams open on this replica, by protocol',
      labelNames: ['protocol'],
      registers,
      collect() {
        const c = counts();
        this.set({ protocol: 'sotw' }, c.sotw);
        this.set({ protocol: 'delta' }, c.delta);
      },
    });
    new Gauge({
      name: 'nerve_xds_first_responses',
      help: 'Streams whose first (full) response is out and not yet answered (in_flight), and those waiting for a place (waiting): storm control',
      labelNames: ['state'],
      registers,
      collect() {
        const f = firstResponses();
        this.set({ state: 'in_flight' }, f.inFlight);
        this.set({ state: 'waiting' }, f.waiting);
      },
    });
    const series = (typeUrl: string): TypeCounts => {
      let s = perType.get(typeUrl);
      if (s === undefined) {
        const type = typeLabel(typeUrl);
        s = {
          type,
          sotw: 0,
          delta: 0,
          acks: 0,
          heartbeats: 0,
          delay: ackDelay.observer({ type }),
          converged: undefined,
        };
        perType.set(typeUrl, s);
      }
      return s;
    };
    new Counter({
      name: 'nerve_xds_heartbeats_total',
      help: 'xDS heartbeats sent (TTL refreshes of runtime overrides, no body), by resource type',
      labelNames: ['type'],
      registers,
      collect() {
        flush(
          (c) => c.heartbeats,
          (c, n) => {
            this.inc({ type: c.type }, n);
            c.heartbeats = 0;
          },
        );
      },
    });
    this.hooks = {
      onPush: (typeUrl, _version, delta) => {
        const s = series(typeUrl);
        if (delta) s.delta++;
        else s.sotw++;
      },
      onHeartbeat: (typeUrl) => void series(typeUrl).heartbeats++,
      onNack: (_node, typeUrl) => nacks.inc({ type: typeLabel(typeUrl) }),
      onAck: (typeUrl, version) => {
        const s = series(typeUrl);
        s.acks++;
        const versions = this.published.get(typeUrl);
        const at = versions?.get(version);
        if (at === undefined) return;
        const seconds = (Date.now() - at) / 1000;
        s.delay(seconds);
        if (this.newest.get(typeUrl) === version) s.converged = seconds;
      },
    };
  }

  /** A snapshot was published: its types' new versions start their clocks. */
  onSnapshot(snapshot: Snapshot): void {
    const now = Date.now();
    for (const [typeUrl, t] of snapshot.types) this.publishedAt(typeUrl, t.version, now, true);
    // The TTL variant's versions time their clients' ACKs too; the gauge follows the main variant's.
    for (const [typeUrl, t] of snapshot.ttlTypes ?? [])
      this.publishedAt(typeUrl, t.version, now, !snapshot.types.has(typeUrl));
  }

  private publishedAt(typeUrl: string, version: string, now: number, newest: boolean): void {
    let versions = this.published.get(typeUrl);
    if (!versions) this.published.set(typeUrl, (versions = new Map()));
    if (versions.has(version)) return;
    versions.set(version, now);
    if (newest) this.newest.set(typeUrl, version);
    if (versions.size > KEPT_VERSIONS) versions.delete(versions.keys().next().value!);
  }
}
