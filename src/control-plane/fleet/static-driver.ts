import type { RuntimeDriver } from './driver';

/**
 * Instances run elsewhere (another orchestrator, a host's service manager) and are configured or register
 * themselves with leases; Nerve routes to them and runs nothing.
 */
export function staticDriver(): RuntimeDriver {
  return {
    name: 'static',
    managed: false,
    lead: async () => undefined,
    follow: () => undefined,
    reconcile: () => undefined,
    release: async () => undefined,
    operate: () => undefined,
    sample: () => undefined,
    shutdown: async () => undefined,
  };
}
