import { Gauge, type Registry } from 'prom-client';
import type { ConfigStore } from '../../store/config-store';
import { PROCESSES_NS, type ProcessRecord } from '../fleet/process-record';

const STATES = ['starting', 'running', 'backoff', 'crash_loop', 'stopping', 'stopped', 'remote'] as const;

/**
 * Managed instances (process driver) on /metrics, from the shared records: the same on every replica
 * (read them with `max`). CPU in cores and resident memory as the leader last sampled them (every 5 s),
 * restarts since the instance was created, and its supervision state.
 */
export function registerProcessMetrics(registry: Registry, store: ConfigStore): void {
  const registers = [registry];
  const each = (fn: (r: ProcessRecord) => void) => {
    for (const value of PROCESSES_NS.values(store)) fn(value);
  };
  const gauge = (name: string, help: string, value: (r: ProcessRecord) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['engine', 'instance'],
      registers,
      collect() {
        this.reset();
        each((r) => this.set({ engine: r.engine, instance: r.id }, value(r)));
      },
    });
  gauge(
    'nerve_managed_process_cpu_cores',
    'CPU a managed instance used over the last sample, in cores',
    (r) => r.cpu,
  );
  gauge(
    'nerve_managed_process_resident_memory_bytes',
    'Resident memory of a managed instance',
    (r) => r.memoryBytes,
  );
  gauge(
    'nerve_managed_process_restarts',
    'Restarts of a managed instance since it was created',
    (r) => r.restarts,
  );
  new Gauge({
    name: 'nerve_managed_process_state',
    help: 'Supervision state of a managed instance: 1 for its current state',
    labelNames: ['engine', 'instance', 'state'],
    registers,
    collect() {
      this.reset();
      each((r) => {
        for (const state of STATES)
          this.set({ engine: r.engine, instance: r.id, state }, r.state === state ? 1 : 0);
      });
    },
  });
}
