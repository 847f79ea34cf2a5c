import { HealthStatus } from '../../../gen/nerve/discovery/v1/resources';
import { CircuitState } from '../resilience/circuit-breaker';
import { instanceStandings } from '../explain/instance-standing';
import type { RoutingState } from '../proxy/routing-state';

const lower = (name: string, prefix: string) => name.replace(prefix, '').toLowerCase();

/**
 * What this router thinks of every instance, as Envoy's /clusters does: why an instance takes no calls
 * (health from the control plane, its circuit, an ejection) and what it has seen of it. For operators.
 */
export function clustersView(state: RoutingState, now = performance.now()): object {
  return {
    engines: state.engineNames().map((name) => {
      const entry = state.engine(name)!;
      const routable = new Set(state.inRotation(name));
      const standings = instanceStandings({
        cluster: entry.cluster,
        inRotation: routable,
        stats: (id) => state.instanceStats(name, id),
        breaker: (id) => state.breakers.instance(name, id),
        now,
      });
      return {
        engine: name,
        circuit: circuitOf(entry.breaker),
        unroutableReason: routable.size === 0 ? entry.picker.reason : undefined,
        canary: entry.canary && {
          rollout: entry.canary.rollout,
          version: entry.canary.version,
          matchRules: entry.cluster.canary!.match.length,
          mirrorPercent: entry.canary.mirrorPercent,
          mirrored: entry.canary.mirrored,
          mirrorsInFlight: entry.canary.mirrorsInFlight,
          mirrorsSkipped: entry.canary.mirrorsSkipped,
        },
        instances: entry.cluster.endpoints.map((e, i) => {
          const stats = state.instanceStats(name, e.id);
          return {
            id: e.id,
            address: e.address,
            version: e.version,
            weight: e.weight,
            priority: e.priority,
            health: lower(HealthStatus[e.health], 'HEALTH_STATUS_'),
            inRotation: routable.has(e.id),
            // Why it takes no calls, or fewer than its weight says (empty: its full share).
            reasons: standings[i].reasons,
            circuit: circuitOf(state.breakers.instance(name, e.id)),
            ejectedForMs: stats && stats.ejectedUntil > now ? Math.round(stats.ejectedUntil - now) : 0,
            ejections: stats?.ejections ?? 0,
            consecutiveFailures: stats?.consecutiveFailures ?? 0,
            inFlight: stats?.inFlight ?? 0,
            requests: stats?.totalRequests ?? 0,
            errors: stats?.totalErrors ?? 0,
            latencyEwmaMs: stats ? Math.round(stats.latencyEwmaMs * 100) / 100 : undefined,
          };
        }),
      };
    }),
  };
}

function circuitOf(b: { state: CircuitState; reason: string; trips: number; sinceMs: number }) {
  return {
    state: lower(CircuitState[b.state], 'CIRCUIT_STATE_'),
    since: new Date(b.sinceMs).toISOString(),
    reason: b.reason || undefined,
    trips: b.trips,
  };
}
