// Writes deploy/grafana/dashboards/nerve.json from the panel list below, so every panel is a query over
// metrics the processes export (test/e2e/deploy.test.ts checks each name against a live scrape).
import { writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const panels = [
  ['Calls per second by engine', 'sum by (engine) (rate(nerve_calls_total[1m]))', 'reqps'],
  [
    'Error rate by engine',
    'sum by (engine) (rate(nerve_calls_total{code!="OK"}[1m])) / clamp_min(sum by (engine) (rate(nerve_calls_total[1m])), 1e-9)',
    'percentunit',
  ],
  [
    'p99 latency by engine',
    'histogram_quantile(0.99, sum by (engine, le) (rate(nerve_call_duration_seconds_bucket[1m])))',
    's',
  ],
  [
    'p50 latency by engine',
    'histogram_quantile(0.5, sum by (engine, le) (rate(nerve_call_duration_seconds_bucket[1m])))',
    's',
  ],
  ['Calls in flight', 'sum by (engine) (nerve_calls_in_flight)', 'short'],
  ['Errors by code', 'sum by (engine, code) (rate(nerve_calls_total{code!="OK"}[1m]))', 'reqps'],
  [
    'Unhealthy instances',
    'count by (engine) (max by (engine, instance) (nerve_instance_healthy) == 0)',
    'short',
  ],
  ['Instance CPU (ORCA)', 'max by (engine, instance) (nerve_instance_cpu_utilization)', 'percentunit'],
  ['Instance memory (ORCA)', 'max by (engine, instance) (nerve_instance_memory_utilization)', 'percentunit'],
  [
    'Health probe p99',
    'histogram_quantile(0.99, sum by (engine, le) (rate(nerve_health_probe_duration_seconds_bucket[5m])))',
    's',
  ],
  [
    'xDS pushes and NACKs',
    'sum by (type) (rate(nerve_xds_pushes_total[5m])) or sum by (type) (rate(nerve_xds_nacks_total[5m]))',
    'ops',
  ],
  ['xDS convergence (publication to last ACK)', 'max by (type) (nerve_xds_convergence_seconds)', 's'],
  ['Connected data planes', 'sum by (protocol) (nerve_xds_connected_clients)', 'short'],
  ['Store up and feed lag', 'min(nerve_store_up) or max(nerve_store_feed_lag_seconds)', 'short'],
  ['Leader', 'max by (replica) (nerve_leader)', 'short'],
  ['Live-feed clients', 'sum by (transport) (nerve_feed_clients)', 'short'],
  ['Router requests by outcome', 'sum by (engine, outcome) (rate(nerve_router_requests_total[1m]))', 'reqps'],
  [
    'Router circuits not closed',
    'sum by (engine, state) (nerve_router_circuit_state{state!="closed"})',
    'short',
  ],
  ['Router connections', 'sum by (side) (nerve_router_connections)', 'short'],
];

const dashboard = {
  uid: 'nerve-fleet',
  title: 'Nerve fleet',
  tags: ['nerve'],
  timezone: 'browser',
  schemaVersion: 39,
  version: 1,
  refresh: '30s',
  time: { from: 'now-1h', to: 'now' },
  panels: panels.map(([title, expr, unit], i) => ({
    id: i + 1,
    type: 'timeseries',
    title,
    datasource: { type: 'prometheus', uid: 'prometheus' },
    gridPos: { x: (i % 3) * 8, y: Math.floor(i / 3) * 8, w: 8, h: 8 },
    fieldConfig: { defaults: { unit }, overrides: [] },
    targets: [{ refId: 'A', expr, datasource: { type: 'prometheus', uid: 'prometheus' } }],
  })),
};

const out = join(
  dirname(fileURLToPath(import.meta.url)),
  '..',
  'deploy',
  'grafana',
  'dashboards',
  'nerve.json',
);
writeFileSync(out, `${JSON.stringify(dashboard, null, 2)}\n`);
