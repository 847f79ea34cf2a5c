import { desiredReplicas } from '../../model/runtime';
import type { EngineSpec } from '../../model/engine';
import type { FleetEvent } from '../../model/fleet/fleet-event';
import type { ConfigStore } from '../../store/config-store';
import { AUTOSCALE_NS, type AutoscaleState } from '../fleet/autoscaler';
import { FLEET_EVENTS_NS } from '../fleet/fleet-events';
import type { InstanceOp } from '../fleet/driver';
import { PROCESSES_NS, type ProcessRecord } from '../fleet/process-record';
import { COMMANDS_NS } from '../fleet/supervisor';

/** What `GET /engines/:name` adds for the fleet: the runtime's size, recent events and decisions. */
export interface RuntimeView {
  readonly driver: string;
  readonly replicas?: {
    readonly desired: number;
    readonly min: number;
    readonly max: number;
    readonly running: number;
  };
  readonly events: readonly FleetEvent[];
  readonly autoscale?: AutoscaleState['decisions'];
  /**
   * Every process the leader runs for the engine, from its first start on (before health lists it as an
   * instance), each with the operation an operator queued for it and the leader has not yet taken.
   */
  readonly processes?: readonly ProcessView[];
}

export type ProcessView = ProcessRecord & { readonly queued: InstanceOp | null };

/** What `GET /engines/:name` shows of how an engine runs, read from the fleet's shared state. */
export function runtimeView(spec: EngineSpec, store: ConfigStore): RuntimeView {
  const rt = spec.runtime;
  const events = (FLEET_EVENTS_NS.get(store, spec.name) ?? []).slice(-20);
  if (rt?.driver !== 'process') return { driver: rt?.driver ?? 'static', events };
  const records = [...PROCESSES_NS.values(store)]
    .filter((r) => r.engine === spec.name)
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const running = records.filter((r) => r.state === 'running' || r.state === 'remote').length;
  const queued = COMMANDS_NS.map(store);
  return {
    driver: rt.driver,
    replicas: { desired: desiredReplicas(rt), min: rt.minReplicas, max: rt.maxReplicas, running },
    events,
    ...(rt.autoscale && { autoscale: (AUTOSCALE_NS.get(store, spec.name)?.decisions ?? []).slice(-10) }),
    processes: records.map((r) => ({
      ...r,
      queued: queued.get(`${r.engine}/${r.id}`)?.op ?? null,
    })),
  };
}
