import { createLogger } from '../../observability/logger';
import { Router } from '../../router/router';
import { otlpFromEnv } from '../../observability/otlp-exporter';
import { flagNames } from '../common/flags';
import { exitOnSignal } from '../common/lifecycle';
import { listening } from '../common/listen';
import { parseFlags, settingsFor } from '../common/options';
import { controlPlaneCredentials } from '../common/security-notes';

export async function routerCommand(args: string[]): Promise<void> {
  const flags = parseFlags(args, flagNames('router'));
  const settings = settingsFor(flags, '0.0.0.0');
  const logger = createLogger('router', settings.logLevel, { dir: settings.logDir });
  const router = await listening(
    'ROUTER_PORT or ROUTER_ADMIN_PORT (--port, --admin-port)',
    settings.routerPort,
    () =>
      new Router({
        controlPlanes: settings.controlPlanes,
        id: settings.routerId,
        host: settings.host,
        port: settings.routerPort,
        adminPort: settings.routerAdminPort,
        adminToken: process.env.ROUTER_ADMIN_TOKEN || undefined,
        logger,
        http2: settings.routerHttp2,
        credentials: controlPlaneCredentials(settings.security, settings.controlPlanes),
        tls: settings.security.tls,
        tracing: {
          sampleRatio: settings.traceSampleRatio,
          otlp: otlpFromEnv(process.env, 'nerve-router'),
        },
        upstreamTls: settings.security.tls && {
          ca: settings.security.tls.ca,
          cert: settings.security.tls.cert,
          key: settings.security.tls.key,
        },
      }).start(),
  );
  // Before "ready": whoever reads that line may signal at once.
  exitOnSignal(logger, () => router.stop());
  console.log(
    `router ${settings.routerId} ready: gRPC ingress on ${settings.host}:${router.port}, admin on http://${settings.host}:${router.adminPort}/metrics, control planes ${settings.controlPlanes.join(',')}`,
  );
}
