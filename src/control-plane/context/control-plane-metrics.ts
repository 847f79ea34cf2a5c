import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ConfigStore } from '../../store/config-store';
import type { LeaderElection } from '../leader/leader-election';

/**
 * The control plane's Prometheus metrics (GET /api/v1/nerve/metrics/prometheus). Gauges are collected
 * when scraped, from the parts that own the values; nothing is updated on a hot path.
 */
export class ControlPlaneMetrics {
  readonly registry = new Registry();
  readonly storeDuration: Histogram<'operation' | 'outcome'>;
  readonly leaderChanges: Counter;
  /** Lines of data-plane reports left out as implausible (control-plane/reports/plausibility.ts). */
  readonly reportLinesRefused: Counter<'reason'>;
  readonly tlsReloadFailures: Counter;
  readonly streamRefusals: Counter<'stream' | 'reason'>;

  constructor(store: ConfigStore, leader: LeaderElection, replicaId: string) {
    this.registry.setDefaultLabels({ replica: replicaId });
    const registers = [this.registry];
    this.storeDuration = new Histogram({
      name: 'nerve_store_operation_duration_seconds',
      help: 'Configuration store operations (commit, changes, putShared) by outcome',
      labelNames: ['operation', 'outcome'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
      registers,
    });
    this.reportLinesRefused = new Counter({
      name: 'nerve_report_lines_refused_total',
      help: 'Lines of router and LRS reports left out: an engine or instance the data plane was never sent, impossible figures',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of ['unknown_engine', 'unknown_instance', 'impossible_figures'])
      this.reportLinesRefused.inc({ reason }, 0);
    this.streamRefusals = new Counter({
      name: 'nerve_stream_refusals_total',
      help: 'Data-plane streams (xDS, load reports, LRS) refused, by stream and reason (unauthenticated, permission_denied, resource_exhausted)',
      labelNames: ['stream', 'reason'],
      registers,
    });
    for (const stream of ['xDS', 'load reports', 'LRS'])
      for (const reason of ['unauthenticated', 'permission_denied', 'resource_exhausted'])
        this.streamRefusals.inc({ stream, reason }, 0);
    this.tlsReloadFailures = new Counter({
      name: 'nerve_tls_reload_failures_total',
      help: 'Renewed TLS files of the gRPC port that did not load (half written, key not matching): the last good pair kept serving',
      registers,
    });
    this.leaderChanges = new Counter({
      name: 'nerve_leader_changes_total',
      help: 'Times this replica took or lost the fleet leadership',
      registers,
      collect() {
        this.reset();
        this.inc(leader.changes);
      },
    });
    new Gauge({
      name: 'nerve_leader',
      help: '1 while this replica leads the fleet (runs health probing and circuit aggregation)',
      registers,
      collect() {
        this.set(leader.leading ? 1 : 0);
      },
    });
    new Gauge({
      name: 'nerve_store_up',
      help: '1 while the configuration store is reachable and followed, 0 while serving the last state',
      registers,
      collect() {
        this.set(store.status().state === 'ok' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'nerve_store_feed_lag_seconds',
      help: 'How long since this replica last heard from the store change feed (0 in memory)',
      registers,
      collect() {
        this.set(store.status().lagMs / 1000);
      },
    });
    new Gauge({
      name: 'nerve_config_version',
      help: 'The newest configuration version this replica applied',
      registers,
      collect() {
        this.set(store.version());
      },
    });
  }
}
