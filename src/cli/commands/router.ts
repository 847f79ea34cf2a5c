import { LIMIT_FLAGS } from '../../config/settings';
import { createLogger } from '../../observability/logger';
import { Router } from '../../router/router';
import { exitOnSignal } from '../lifecycle';
import { parseFlags, settingsFor } from '../options';

export async function routerCommand(args: string[]): Promise<void> {
  const flags = parseFlags(args, [
    'config',
    'host',
    'control-plane',
    'port',
    'admin-port',
    'id',
    'log-level',
    ...LIMIT_FLAGS,
  ]);
  const settings = settingsFor(flags, '0.0.0.0');
  const logger = createLogger('router', settings.logLevel);
  const router = await new Router({
    controlPlanes: settings.controlPlanes,
    id: settings.routerId,
    host: settings.host,
    port: settings.routerPort,
    adminPort: settings.routerAdminPort,
    logger,
    http2: settings.routerHttp2,
  }).start();
  console.log(
    `router ${settings.routerId} ready: gRPC ingress on ${settings.host}:${router.port}, admin on http://${settings.host}:${router.adminPort}/metrics, control planes ${settings.controlPlanes.join(',')}`,
  );
  exitOnSignal(logger, () => router.stop());
}
