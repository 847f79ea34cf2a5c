import type { ReplicaView } from '../context/replica-status';
import { CircuitState } from '../../../gen/nerve/discovery/v1/resources';
import { echo } from '../../model/echo';
import { type EngineSpec, findInstance, type HealthState, namespaceOf } from '../../model/engine';
import { NerveError } from '../../model/errors';
import type { CheckState } from '../../model/health';
import type { ConfigStore, StoreStatus } from '../../store/config-store';
import type { EngineCircuitStatus } from '../circuits/circuit-board';
import type { EngineCatalog } from '../config/engine-catalog';
import { LEASES_NS } from '../fleet/leases';
import { PROCESSES_NS } from '../fleet/process-record';
import type { EngineStatusTracker } from '../health/engine-status';
import type { HealthHistory, HealthTransition } from '../health/health-history';
import { type HistoryAnswer, type HistoryQuery, queryHistory } from '../history/history-query';
import type { CallWindows } from '../calls/call-windows';
import type { LoadStats } from '../reports/load-stats';
import type { StreamStatus } from '../xds/stream-state';
import type { EngineView, HealthReport } from './engine-views';
import type { FleetReads } from './fleet-reads';
import { effectiveHealth, engineHealth, type InstanceInsight, systemHealth } from './health-report';
import { MetricsViews } from './metrics-views';
import { page } from './paging';
import { runtimeView } from './runtime-view';

/** What the views read: the store and the parts of this replica that hold state the store does not. */
export interface ViewSources {
  readonly store: ConfigStore;
  readonly engines: EngineCatalog;
  /** An instance's last probe result as the leader shared it. */
  readonly checkState: (engine: string, instanceId: string) => CheckState;
  /** An instance whose registration lease lapsed (routed as unhealthy until it renews or is removed). */
  readonly lapsed: (engine: string, instanceId: string) => boolean;
  readonly circuits: (engine: string, instanceIds: readonly string[]) => EngineCircuitStatus;
  readonly loads: LoadStats;
  readonly windows: CallWindows;
  readonly engineStatus: EngineStatusTracker;
  readonly healthHistory: HealthHistory;
  readonly replica: () => ReplicaView;
  readonly ready: () => { ready: boolean; reason?: string };
  readonly xdsClients: () => StreamStatus[];
  readonly xdsClientCount: () => number;
  /** Where xDS clients reach this control plane (bind host and port). */
  readonly xdsEndpoint: () => { host: string; port: number };
  /** The control plane's metrics in Prometheus text format. */
  readonly prometheus: () => Promise<string>;
}

/**
 * Every read of the control plane, one implementation behind REST, admin gRPC, the feed and the
 * observers (alerting, the autoscaler): engines as operators see them, health with its reasons, call
 * figures, circuits, history, this replica (alerts are alerting's own views). Commands live in `admin/`; they answer with these
 * views, so a write's answer and the next read agree.
 */
export class FleetViews implements FleetReads {
  /** Fleet call figures: summaries and details. */
  readonly metrics: MetricsViews;

  constructor(private readonly src: ViewSources) {
    this.metrics = new MetricsViews(src.engines, src.windows);
  }

  /** An instance's status as routing sees it: drained, lapsed lease, then its probes. */
  instanceHealth(engine: string, instanceId: string): HealthState {
    const spec = this.src.engines.getNow(engine);
    const instance = spec && findInstance(spec, instanceId);
    if (instance?.draining) return 'draining';
    if (this.src.lapsed(engine, instanceId)) return 'unhealthy';
    return this.src.checkState(engine, instanceId).status;
  }

  /** A page of engines by name (see `page` for the size and token rules). */
  async listEngines(pageSize = 0, pageToken = ''): Promise<{ engines: EngineView[]; nextPageToken: string }> {
    const { items, nextPageToken } = page(await this.src.engines.list(), pageSize, pageToken);
    return { engines: items.map((s) => this.view(s)), nextPageToken };
  }

  async getEngine(name: string): Promise<EngineView> {
    return this.view(await this.require(name));
  }

  /**
   * Engines' health, and the store's: a store that cannot be reached degrades the system (it keeps
   * routing on its last configuration, but no change can be made) and says why.
   */
  async health(engine?: string): Promise<HealthReport> {
    const specs = engine ? [await this.require(engine)] : await this.src.engines.list();
    const tracker = this.src.engineStatus;
    const report = systemHealth(
      specs.map((s) =>
        engineHealth(
          s,
          (id) => this.insight(s, id),
          (name, raw) => tracker.observe(name, raw),
        ),
      ),
    );
    const store = this.store();
    const status =
      store.state !== 'ok' && report.status === 'healthy' && !engine ? 'degraded' : report.status;
    return { ...report, status, store, replica: this.src.replica() };
  }

  /** Metric history of engines and instances (GET /metrics/history). */
  async history(q: HistoryQuery): Promise<HistoryAnswer> {
    return queryHistory(this.src.store.history, this.src.engines.listNow(), q, Date.now());
  }

  healthHistoryNow(engine: string, sinceMs = 0): HealthTransition[] {
    return this.src.healthHistory.list(engine, sinceMs);
  }

  /** Health transitions of an engine at or after `sinceMs`, oldest first. */
  async healthHistory(engine: string, sinceMs = 0): Promise<HealthTransition[]> {
    await this.require(engine);
    return this.healthHistoryNow(engine, sinceMs);
  }

  summary(filter?: { engines?: readonly string[] }) {
    return this.metrics.summary(filter);
  }

  /** Circuit states aggregated over every router, of every engine or of one. */
  async circuits(engine?: string): Promise<EngineCircuitStatus[]> {
    const specs = engine ? [await this.require(engine)] : await this.src.engines.list();
    return specs.map((s) =>
      this.src.circuits(
        s.name,
        s.instances.map((i) => i.id),
      ),
    );
  }

  /** What is known of an instance: probes, circuits, routers' ejections, its calls and resources. */
  insight(spec: EngineSpec, instanceId: string): InstanceInsight {
    const instance = findInstance(spec, instanceId);
    const windows = this.src.windows;
    const circuit = this.src
      .circuits(spec.name, [instanceId])
      .instances.find((c) => c.instanceId === instanceId);
    return {
      facts: {
        draining: instance?.draining ?? false,
        check: this.src.checkState(spec.name, instanceId),
        circuitOpen: circuit?.state === CircuitState.CIRCUIT_STATE_OPEN,
        ejectedBy: windows.ejectedBy(spec.name, instanceId),
        leaseLapsed: this.src.lapsed(spec.name, instanceId),
      },
      calls: windows.stats(spec.name, instanceId),
      resources: windows.resources(spec.name, instanceId),
    };
  }

  readiness(): { ready: boolean; reason?: string } {
    return this.src.ready();
  }

  store(): StoreStatus {
    return this.src.store.status();
  }

  replica(): ReplicaView {
    return this.src.replica();
  }

  prometheus(): Promise<string> {
    return this.src.prometheus();
  }

  /** System statistics: this replica, the leader, the store and its lag, what is configured and connected. */
  async stats() {
    const specs = await this.src.engines.list();
    const memory = process.memoryUsage();
    return {
      replica: this.src.replica(),
      store: this.src.store.status(),
      engines: specs.length,
      instances: specs.reduce((n, s) => n + s.instances.length, 0),
      xdsClients: this.src.xdsClientCount(),
      memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed },
    };
  }

  xdsClients(): StreamStatus[] {
    return this.src.xdsClients();
  }

  /**
   * xDS streams open on this replica. A health check asks this, not xdsClients(): at 50,000 streams the
   * status of each is half a second of work.
   */
  xdsClientCount(): number {
    return this.src.xdsClientCount();
  }

  /**
   * A gRPC xDS bootstrap (gRFC A27) for this control plane: set it as GRPC_XDS_BOOTSTRAP_CONFIG and
   * `xds:///<engine>` works. `host` replaces a wildcard bind address with one the client can reach.
   */
  bootstrap(nodeId: string, host: string): object {
    if (!/^[\w.:-]{1,128}$/.test(nodeId))
      throw new NerveError(
        'INVALID_ARGUMENT',
        `node id must be 1-128 letters, digits, ".", ":", "_" or "-", got ${echo(nodeId)}`,
      );
    const endpoint = this.src.xdsEndpoint();
    const bindHost = endpoint.host === '0.0.0.0' || endpoint.host === '::' ? host : endpoint.host;
    const uriHost = bindHost.includes(':') ? `[${bindHost}]` : bindHost;
    return {
      xds_servers: [
        {
          server_uri: `${uriHost}:${endpoint.port}`,
          channel_creds: [{ type: 'insecure' }],
          server_features: ['xds_v3'],
        },
      ],
      node: { id: nodeId, cluster: 'nerve-clients', locality: {} },
    };
  }

  view(spec: EngineSpec): EngineView {
    const store = this.src.store;
    return {
      name: spec.name,
      namespace: namespaceOf(spec),
      versions: spec.versions,
      instances: spec.instances.map((i) => {
        const process = PROCESSES_NS.get(store, `${spec.name}/${i.id}`);
        const lease = LEASES_NS.get(store, `${spec.name}/${i.id}`);
        return {
          id: i.id,
          address: i.address,
          version: i.version,
          weight: i.weight,
          health: this.src.lapsed(spec.name, i.id)
            ? 'unhealthy'
            : effectiveHealth(i.draining, this.src.checkState(spec.name, i.id)),
          priority: i.priority,
          draining: i.draining,
          load: this.src.loads.view(spec.name, i.id),
          ...(process && { process }),
          ...(lease && {
            lease: {
              ttlMs: lease.ttlMs,
              registeredAt: lease.registeredAt,
              renewedAt: lease.renewedAt,
              expiresAt: new Date(lease.expiresAtMs).toISOString(),
              lapsedAt: lease.lapsedAt,
            },
          }),
        };
      }),
      policy: spec.policy,
      services: spec.services,
      ...(spec.adaptiveWeights && { adaptiveWeights: spec.adaptiveWeights }),
      ...(spec.registration && { registration: spec.registration }),
      revision: spec.revision,
      dropped: this.src.loads.dropped(spec.name),
      ...(spec.runtime && { runtimeSpec: spec.runtime }),
      runtime: runtimeView(spec, store),
    };
  }

  private async require(name: string): Promise<EngineSpec> {
    const spec = await this.src.engines.get(name);
    if (!spec) throw new NerveError('NOT_FOUND', `engine ${echo(name)} not found`);
    return spec;
  }
}
