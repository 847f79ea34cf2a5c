import type { Unary } from '../commands/unary';
import type {
  AdminServer,
  CallStats as ProtoCallStats,
  GetHealthResponse,
} from '../../../gen/nerve/admin/v1/admin';
import type { CallStats } from '../calls/call-accumulator';
import type { AdminService } from './admin-service';
import type { HealthReport } from '../views/engine-views';

type ObservabilityHandlers = Pick<AdminServer, 'getHealth' | 'getMetricsSummary' | 'getMetricsHistory'>;

function stats(s: CallStats): ProtoCallStats {
  return {
    requests: s.requests,
    errors: s.errors,
    rps: s.rps,
    errorRate: s.errorRate,
    p50Ms: s.p50Ms,
    p95Ms: s.p95Ms,
    p99Ms: s.p99Ms,
    inFlight: s.inFlight,
  };
}

function toProtoHealth(h: HealthReport): GetHealthResponse {
  return {
    status: h.status,
    engines: h.engines.map((e) => ({
      name: e.name,
      status: e.status,
      rawStatus: e.rawStatus,
      statusSince: e.statusSince ?? '',
      healthyInstances: e.healthyInstances,
      totalInstances: e.totalInstances,
      instances: e.instances.map((i) => ({
        id: i.id,
        address: i.address,
        version: i.version,
        health: i.health,
        reasons: i.reasons.map((r) => ({ ...r })),
        consecutiveFailures: i.consecutiveFailures,
        lastError: i.lastError,
        lastCheckMs: i.lastCheckMs,
        lastCheckAt: i.lastCheckAt ?? '',
        lastCheckLatencyMs: i.lastCheckLatencyMs,
        calls: i.calls && stats(i.calls),
        cpuUtilization: i.cpuUtilization,
        memUtilization: i.memUtilization,
      })),
      history: [],
    })),
  };
}

/**
 * Health, summaries and history on admin gRPC: the same AdminService calls as REST's /health,
 * /metrics/summary and /metrics/history, mapped to typed messages.
 */
export function observabilityHandlers(admin: AdminService, unary: Unary): ObservabilityHandlers {
  return {
    getHealth: unary(async (r) => {
      const res = toProtoHealth(await admin.views.health(r.engine || undefined));
      if (r.engine && r.sinceMs > 0)
        res.engines[0].history = (await admin.views.healthHistory(r.engine, r.sinceMs)).map((t) => ({
          at: t.at,
          instance: t.instance,
          from: t.from,
          to: t.to,
          reason: t.reason,
          kind: t.kind ?? 'probe',
          actor: t.actor ?? '',
        }));
      return res;
    }),
    getMetricsSummary: unary(async (r) => {
      const s = admin.views.metrics.summary({ engines: r.engines.length > 0 ? r.engines : undefined });
      return {
        windowMs: s.windowMs,
        overall: stats(s.overall),
        engines: s.engines.map((e) => ({
          name: e.name,
          namespace: e.namespace,
          stats: stats(e),
          instances: e.instances.map((i) => ({
            id: i.id,
            version: i.version,
            stats: stats(i),
            cpuUtilization: i.cpuUtilization,
            memUtilization: i.memUtilization,
          })),
          versions: e.versions.map((v) => ({ name: v.name, stats: stats(v) })),
        })),
      };
    }),
    getMetricsHistory: unary(async (r) => {
      const h = await admin.views.history({
        engine: r.engine || undefined,
        instance: r.instance || undefined,
        metrics: r.metrics,
        fromMs: r.fromMs || undefined,
        toMs: r.toMs || undefined,
        stepMs: r.stepMs || undefined,
      });
      return {
        stepMs: h.stepMs,
        resolution: h.resolution,
        series: h.series.map((s) => ({
          engine: s.engine,
          instance: s.instance ?? '',
          metric: s.metric,
          points: s.points.map(([atMs, value]) => ({ atMs, value })),
        })),
      };
    }),
  };
}
