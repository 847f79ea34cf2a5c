import { createApi } from '../../api/app';
import { listenHttp } from '../../api/server';
import { ControlPlane } from '../../control-plane/control-plane';
import { createLogger } from '../../observability/logger';
import { MemoryStore } from '../../store/memory-store';
import { flagNames } from '../flags';
import { exitOnSignal } from '../lifecycle';
import { listening } from '../listen';
import { parseFlags, settingsFor, UsageError } from '../options';

export async function controlPlaneCommand(args: string[]): Promise<void> {
  const flags = parseFlags(args, flagNames('control-plane'));
  const settings = settingsFor(flags, '0.0.0.0');
  const logger = createLogger('control-plane', settings.logLevel);
  if (settings.redisUrl)
    throw new UsageError(
      'REDIS_URL is set, but the Redis store is not available in this version; unset it to run with the in-memory store',
    );
  const cp = await listening('XDS_PORT (--xds-port)', settings.xdsPort, () =>
    ControlPlane.start({
      store: new MemoryStore(),
      logger,
      host: settings.host,
      xdsPort: settings.xdsPort,
      engines: settings.engines,
    }),
  );
  const api = await listening('API_PORT (--api-port)', settings.apiPort, () =>
    listenHttp(createApi(cp.admin, logger), settings.host, settings.apiPort),
  ).catch(async (err: unknown) => {
    await cp.stop();
    throw err;
  });
  console.log(
    `control plane ready: xDS/admin gRPC on ${settings.host}:${cp.port}, REST on http://${settings.host}:${api.port}/api/v1/nerve`,
  );
  exitOnSignal(logger, async () => {
    await api.close();
    await cp.stop();
  });
}
