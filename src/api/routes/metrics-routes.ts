import * as S from '../http/schemas';
import type { Routes } from '../http/route-table';
import type { AdminService } from '../../control-plane/admin/admin-service';
import { intParam, listParam, one, timeParam } from '../http/query';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Fleet metrics: detail, summary, history, and the Prometheus exposition. */
export function metricsRoutes(r: Routes, admin: AdminService): void {
  r.get('/metrics', 'viewer', 'Detailed metrics (JSON)', (_req, res) => {
    res.json(admin.views.metrics.detail());
  });
  r.get('/metrics/summary', 'viewer', 'Metrics summary: rates, errors, latency percentiles', (req, res) => {
    res.json(admin.views.metrics.summary({ engines: listParam(req.query, 'engine') }));
  });
  r.get(
    '/metrics/prometheus',
    'viewer',
    { summary: 'Prometheus exposition', produces: 'text/plain' },
    async (_req, res) => {
      res.type(PROMETHEUS_CONTENT_TYPE).send(await admin.views.prometheus());
    },
  );
  r.get(
    '/metrics/history',
    'viewer',
    { summary: 'Metric history series', query: S.historyQuery },
    async (req, res) => {
      const q = req.query as Record<string, unknown>;
      res.json(
        await admin.views.history({
          engine: one(q, 'engine'),
          instance: one(q, 'instance'),
          metrics: listParam(q, 'metric'),
          fromMs: timeParam(q, 'from'),
          toMs: timeParam(q, 'to'),
          stepMs: intParam(q, 'stepMs', 1_000, 86_400_000),
        }),
      );
    },
  );
}
