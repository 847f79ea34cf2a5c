import { CircuitState } from '../../../gen/nerve/discovery/v1/resources';
import type { CircuitStatus, EngineCircuitStatus } from './circuit-board';

/** Circuits as REST and the live feed show them: state names, RFC 3339 times, each router's view. */
const STATE_NAMES: Record<number, string> = {
  [CircuitState.CIRCUIT_STATE_UNSPECIFIED]: 'closed',
  [CircuitState.CIRCUIT_STATE_CLOSED]: 'closed',
  [CircuitState.CIRCUIT_STATE_OPEN]: 'open',
  [CircuitState.CIRCUIT_STATE_HALF_OPEN]: 'half_open',
};

function iso(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

function circuitJson(c: CircuitStatus) {
  return {
    state: STATE_NAMES[c.state],
    since: iso(c.sinceMs),
    lastReset: iso(c.resetAtMs),
    openOn: c.openOn,
    reporters: c.reporters,
    routers: Object.fromEntries(Object.entries(c.routers).map(([node, s]) => [node, STATE_NAMES[s]])),
  };
}

export function circuitsView(e: EngineCircuitStatus) {
  return {
    engine: e.engine,
    circuit: circuitJson(e.engineCircuit),
    instances: e.instances.map((i) => ({ id: i.instanceId, ...circuitJson(i) })),
  };
}
