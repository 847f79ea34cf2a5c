import type { LoadResult } from './load-runner';

const ms = (micros: number) => Math.round(micros) / 1000;

/** `nerve load --json`. */
export function jsonReport(r: LoadResult) {
  const h = r.histogram;
  return {
    requests: r.requests,
    ok: r.ok,
    durationMs: Math.round(r.elapsedMs),
    rps: Math.round((r.requests / (r.elapsedMs / 1000)) * 10) / 10,
    errors: Object.fromEntries(r.errors),
    latencyMs: {
      p50: ms(h.quantile(0.5)),
      p90: ms(h.quantile(0.9)),
      p99: ms(h.quantile(0.99)),
      p999: ms(h.quantile(0.999)),
      max: ms(h.max),
    },
    instances: Object.fromEntries(r.instances),
    versions: Object.fromEntries(r.versions),
  };
}

/** The report for people. */
export function textReport(r: LoadResult, mode: string): string {
  const j = jsonReport(r);
  const share = (n: number) => `${((n / Math.max(1, r.ok)) * 100).toFixed(1)} %`;
  const lines = [
    `${mode}: ${j.requests} calls in ${(j.durationMs / 1000).toFixed(1)} s, ${j.rps} calls/s, ${r.ok} OK`,
    `latency (ms, from each call's intended send time): p50 ${j.latencyMs.p50}  p90 ${j.latencyMs.p90}  p99 ${j.latencyMs.p99}  p99.9 ${j.latencyMs.p999}  max ${j.latencyMs.max}`,
  ];
  if (r.errors.size > 0) lines.push(`errors: ${[...r.errors].map(([code, n]) => `${code} ${n}`).join(', ')}`);
  if (r.instances.size > 0)
    lines.push(
      `instances: ${[...r.instances]
        .sort()
        .map(([id, n]) => `${id} ${n} (${share(n)})`)
        .join(', ')}`,
    );
  if (r.versions.size > 0)
    lines.push(
      `versions: ${[...r.versions]
        .sort()
        .map(([v, n]) => `${v} ${n} (${share(n)})`)
        .join(', ')}`,
    );
  return lines.join('\n');
}
