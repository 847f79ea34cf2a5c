import { promDuration } from '../../model/alerts/alertmanager/syntax';
import { judgeMetric, type MetricResult, type Rollout } from '../../model/rollout';
import { type Metric } from '../../model/rollout-input';

const QUERY_TIMEOUT_MS = 10_000;

/** The query with the rollout's names filled in (Flagger's `{{ target }}` is `{{ engine }}` here). */
export function fillQuery(query: string, r: Rollout, intervalMs: number): string {
  const values: Record<string, string> = {
    engine: r.engine,
    version: r.version,
    rollout: r.id,
    interval: promDuration(Math.max(1_000, Math.round(intervalMs / 1_000) * 1_000)),
  };
  return query.replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) => values[name] ?? whole);
}

/**
 * A metric read from Prometheus's HTTP API (`GET /api/v1/query`) and judged against its range and
 * conditions: a scalar, or a vector's samples in the order returned (`result[i]`). Nothing returned, an
 * error or no answer within 10 s is inconclusive.
 */
export async function readMetric(m: Metric, r: Rollout, intervalMs: number): Promise<MetricResult> {
  const url = `${m.prometheus.address.replace(/\/+$/, '')}/api/v1/query?query=${encodeURIComponent(fillQuery(m.prometheus.query, r, intervalMs))}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(QUERY_TIMEOUT_MS) });
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: unknown };
    };
    if (body.status !== 'success' || !body.data)
      return judgeMetric(m, null, `Prometheus refused the query: ${body.error ?? `HTTP ${res.status}`}`);
    const { resultType, result } = body.data;
    const samples =
      resultType === 'scalar'
        ? [(result as [number, string])[1]]
        : resultType === 'vector'
          ? (result as { value: [number, string] }[]).map((x) => x.value[1])
          : [];
    return judgeMetric(m, samples.map(Number));
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    return judgeMetric(
      m,
      null,
      e.name === 'TimeoutError'
        ? `Prometheus did not answer within ${QUERY_TIMEOUT_MS} ms`
        : `Prometheus unreachable: ${e.cause?.code ?? e.message}`,
    );
  }
}
