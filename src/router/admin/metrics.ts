import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { registerConnectionMetrics } from './connection-metrics';
import type { ConnectionStats } from '../../protocol/h2/connection-stats';
import { registerLatencyHistogram } from './latency-metric';
import { registerCacheMetrics } from './cache-metrics';
import type { AdsClient } from '../xds/ads-client';
import type { RoutingState } from '../proxy/routing-state';
import { CircuitState } from '../resilience/circuit-breaker';
import { CODE_NAMES } from '../../protocol/grpc-codes';

const STATES: [CircuitState, string][] = [
  [CircuitState.CIRCUIT_STATE_CLOSED, 'closed'],
  [CircuitState.CIRCUIT_STATE_OPEN, 'open'],
  [CircuitState.CIRCUIT_STATE_HALF_OPEN, 'half_open'],
];

/**
 * The router's Prometheus registry. Request counts are read from InstanceStats at scrape time, so the
 * request path pays nothing for metrics.
 */
export function routerMetrics(
  state: RoutingState,
  ads: AdsClient,
  routerId: string,
  connections: { readonly downstream: ConnectionStats; readonly upstream: ConnectionStats },
): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ router: routerId });
  // The event-loop lag histogram samples on a repeating timer: prom-client's 10 ms default wakes an idle
  // router 100 times a second and a busy one between calls; 100 ms still catches any stall that matters.
  collectDefaultMetrics({ register: registry, prefix: 'nerve_router_', eventLoopMonitoringPrecision: 100 });
  registerCacheMetrics(registry, state);
  new Counter({
    name: 'nerve_router_requests_total',
    help: 'Calls routed to an engine instance, by outcome.',
    labelNames: ['engine', 'instance', 'outcome'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of state.allStats()) {
        this.inc(
          { engine: s.engine, instance: s.instanceId, outcome: 'ok' },
          s.totalRequests - s.totalErrors,
        );
        this.inc({ engine: s.engine, instance: s.instanceId, outcome: 'error' }, s.totalErrors);
      }
    },
  });
  new Gauge({
    name: 'nerve_router_in_flight',
    help: 'Calls in flight per engine instance.',
    labelNames: ['engine', 'instance'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of state.allStats()) this.set({ engine: s.engine, instance: s.instanceId }, s.inFlight);
    },
  });
  new Counter({
    name: 'nerve_router_errors_total',
    help: 'Calls that ended in error, by instance and gRPC status code.',
    labelNames: ['engine', 'instance', 'code'],
    registers: [registry],
    collect() {
      this.reset();
      for (const s of state.allStats()) {
        s.totalByCode.forEach((n, code) => {
          if (n > 0) this.inc({ engine: s.engine, instance: s.instanceId, code: CODE_NAMES[code] }, n);
        });
      }
    },
  });
  new Gauge({
    name: 'nerve_router_instance_ejected',
    help: "1 while outlier detection keeps the instance out of this router's rotation.",
    labelNames: ['engine', 'instance'],
    registers: [registry],
    collect() {
      this.reset();
      const now = performance.now();
      for (const s of state.allStats())
        this.set({ engine: s.engine, instance: s.instanceId }, s.ejectedUntil > now ? 1 : 0);
    },
  });
  new Gauge({
    name: 'nerve_router_circuit_state',
    help: 'Circuit breaker state in this router: 1 for the current state (closed, open, half_open); instance "" is the engine-wide breaker.',
    labelNames: ['engine', 'instance', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const { engine, instanceId, breaker } of state.breakers.all())
        for (const [value, name] of STATES)
          this.set({ engine, instance: instanceId, state: name }, breaker.state === value ? 1 : 0);
    },
  });
  new Counter({
    name: 'nerve_router_circuit_transitions_total',
    help: 'Circuit breaker state changes in this router, by the state entered.',
    labelNames: ['engine', 'instance', 'state'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [key, n] of state.breakers.transitions) {
        const [engine, instance, entered] = key.split('/');
        this.inc({ engine, instance, state: entered.replace('CIRCUIT_STATE_', '').toLowerCase() }, n);
      }
    },
  });
  new Gauge({
    name: 'nerve_router_xds_connected',
    help: '1 while the ADS stream to a control plane is up.',
    registers: [registry],
    collect() {
      this.set(ads.connected ? 1 : 0);
    },
  });
  new Counter({
    name: 'nerve_router_xds_updates_total',
    help: 'xDS responses by type and result (accepted, rejected, heartbeat), and resources that expired (expired: no control plane refreshed them within their TTL).',
    labelNames: ['type', 'result'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [typeUrl, s] of ads.states) {
        const type = typeUrl.split('.').pop()!;
        this.inc({ type, result: 'accepted' }, s.updates);
        this.inc({ type, result: 'rejected' }, s.rejected);
        this.inc({ type, result: 'heartbeat' }, s.heartbeats);
        this.inc({ type, result: 'expired' }, s.expired);
      }
    },
  });
  registerConnectionMetrics(registry, connections);
  registerLatencyHistogram(registry, state);
  return registry;
}
