import { installFeatures, type PlaneParts } from '../../src/control-plane/control-plane';
import { connectStore, createPlaneContext } from '../../src/control-plane/context/plane-context';
import type { ControlPlaneOptions } from '../../src/control-plane/context/plane-options';
import { MemoryStore } from '../../src/store/memory-store';
import { logger } from './cluster';

/**
 * The whole control plane's features over MemoryStore, as the composition root installs them, with no
 * port bound: for unit tests of commands and features under jest's fake timers. `start` starts the
 * modules (this replica leads at once); `stop` stops them.
 */
export async function unitPlane(
  options: Partial<ControlPlaneOptions> = {},
  /** What reaches outside the process, faked (a probe for managed processes). */
  outside: Parameters<typeof installFeatures>[1] = {},
) {
  const ctx = createPlaneContext({
    store: new MemoryStore(),
    logger,
    host: '127.0.0.1',
    xdsPort: 0,
    healthChecks: false,
    ...options,
  });
  await ctx.store.start();
  connectStore(ctx);
  const parts: PlaneParts = installFeatures(ctx, outside);
  return {
    ...parts,
    async start(): Promise<void> {
      for (const m of parts.modules) await m.start();
    },
    async stop(): Promise<void> {
      ctx.disposables.dispose();
      for (const m of [...parts.modules].reverse()) await m.stop();
      ctx.gate.limits.close();
    },
  };
}
