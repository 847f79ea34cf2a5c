import { grpcPeer } from '../../security/grpc-credentials';
import type * as grpc from '@grpc/grpc-js';
import { admitStream } from '../../security/stream-admission';
import { type Authenticator, OPEN } from '../../security/authenticator';
import * as protoLoader from '@grpc/proto-loader';
import { InstanceLoad } from '../../../gen/nerve/report/v1/report';
import type { Logger } from '../../observability/logger';
import { LOADER_OPTIONS } from '../../protocol/ads';
import type { IncomingReport } from '../kernel/events';

/** LoadStatsRequest as proto-loader hands it over (keepCase, uint64 as strings). */
export interface LoadStatsRequest {
  node: { id: string } | null;
  cluster_stats: {
    cluster_name: string;
    upstream_locality_stats: {
      locality: { region: string; zone: string; sub_zone: string } | null;
      total_successful_requests: string;
      total_requests_in_progress: string;
      total_error_requests: string;
      total_issued_requests: string;
      load_metric_stats: { metric_name: string; total_metric_value: number }[];
    }[];
    total_dropped_requests: string;
    load_report_interval?: { seconds: string; nanos: number } | null;
  }[];
}

/** The period a request's counts cover (the longest of its clusters'), or `fallback` when absent. */
function lrsInterval(request: LoadStatsRequest, fallback: number): number {
  let ms = 0;
  for (const c of request.cluster_stats ?? []) {
    const i = c.load_report_interval;
    if (i) ms = Math.max(ms, Number(i.seconds) * 1000 + Math.round(i.nanos / 1e6));
  }
  return ms > 0 ? ms : fallback;
}

interface LoadStatsResponse {
  clusters: string[];
  send_all_clusters: boolean;
  load_reporting_interval: { seconds: number; nanos: number };
}

export const LRS_SERVICE = 'envoy.service.load_stats.v3.LoadReportingService';

/**
 * Folds one LRS report into per-instance loads. Nerve's ClusterLoadAssignments give every instance its own
 * locality (region = engine, sub_zone = instance id), so locality stats are instance stats; an instance
 * reported under several clusters (failover tiers) is summed.
 */
/** Dropped calls per engine: LRS counts drops per cluster ("E/<version>"), not per locality. */
export function dropsFromLrs(request: LoadStatsRequest): Map<string, number> {
  const drops = new Map<string, number>();
  for (const cluster of request.cluster_stats) {
    const dropped = Number(cluster.total_dropped_requests);
    if (dropped > 0) {
      const engine = cluster.cluster_name.slice(0, cluster.cluster_name.lastIndexOf('/'));
      drops.set(engine, (drops.get(engine) ?? 0) + dropped);
    }
  }
  return drops;
}

export function loadsFromLrs(request: LoadStatsRequest): InstanceLoad[] {
  const byInstance = new Map<string, InstanceLoad>();
  for (const cluster of request.cluster_stats) {
    for (const l of cluster.upstream_locality_stats) {
      if (!l.locality?.region || !l.locality.sub_zone) continue;
      const key = `${l.locality.region}/${l.locality.sub_zone}`;
      const load =
        byInstance.get(key) ??
        InstanceLoad.fromPartial({ engine: l.locality.region, instanceId: l.locality.sub_zone });
      load.requests += Number(l.total_successful_requests) + Number(l.total_error_requests);
      load.errors += Number(l.total_error_requests);
      load.inFlight += Number(l.total_requests_in_progress);
      for (const m of l.load_metric_stats ?? []) {
        load.loadMetrics[m.metric_name] =
          (load.loadMetrics[m.metric_name] ?? 0) + Number(m.total_metric_value);
      }
      byInstance.set(key, load);
    }
  }
  return [...byInstance.values()];
}

/** LRS for proxyless gRPC clients and Envoy: asks for every cluster at the given interval. */
export function addLrsService(
  server: grpc.Server,
  replica: string,
  onReport: (report: IncomingReport) => void,
  intervalMs: number,
  logger: Logger,
  auth: Authenticator = OPEN,
): { closeAll(): void } {
  const pkg = protoLoader.loadSync('envoy/service/load_stats/v3/lrs.proto', LOADER_OPTIONS);
  const calls = new Set<grpc.ServerDuplexStream<LoadStatsRequest, LoadStatsResponse>>();
  server.addService(pkg[LRS_SERVICE] as grpc.ServiceDefinition, {
    StreamLoadStats(call: grpc.ServerDuplexStream<LoadStatsRequest, LoadStatsResponse>) {
      calls.add(call);
      let nodeId = '';
      admitStream(
        call,
        auth,
        (r) => r.node?.id ?? '',
        { what: 'LRS' },
        (request: LoadStatsRequest) => {
          if (!nodeId) {
            nodeId = request.node?.id || `lrs-${grpcPeer(call)}`;
            call.write({
              clusters: [],
              send_all_clusters: true,
              load_reporting_interval: {
                seconds: Math.floor(intervalMs / 1000),
                nanos: (intervalMs % 1000) * 1_000_000,
              },
            });
          }
          const loads = loadsFromLrs(request);
          const dropped = Object.fromEntries(dropsFromLrs(request));
          onReport({
            nodeId,
            source: 'lrs',
            replica,
            loads,
            engineCircuits: {},
            engineCalls: [],
            dropped,
            intervalMs: lrsInterval(request, intervalMs),
          });
          logger.debug('LRS report', { nodeId, instances: loads.length });
        },
      );
      call.on('end', () => call.end());
      call.on('error', () => undefined);
      call.on('close', () => calls.delete(call));
    },
  });
  return {
    closeAll: () => {
      for (const call of calls) call.end();
    },
  };
}
