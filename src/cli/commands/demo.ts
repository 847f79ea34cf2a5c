import { startApi } from '../../api/server';
import { ControlPlane } from '../../control-plane/control-plane';
import { startFleet } from '../../demo/fleet';
import { createLogger, humanLogs } from '../../observability/logger';
import { isLogLevel, logLevels } from '../../observability/log-levels';
import { otlpFromEnv } from '../../observability/otlp-exporter';
import { Router } from '../../router/router';
import { MemoryStore } from '../../store/memory-store';
import { flagNames } from '../common/flags';
import { exitOnSignal } from '../common/lifecycle';
import { checkPorts, listening } from '../common/listen';
import { intFlag, parseFlags, settingsFor } from '../common/options';

async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`demo not ready after ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Control plane + REST + one router + a demo fleet, all on loopback, in one process. */
export async function demoCommand(args: string[]): Promise<void> {
  const started = Date.now();
  const flags = parseFlags(args, flagNames('demo'));
  const settings = settingsFor(
    { ...flags, port: flags['router-port'], 'admin-port': flags['router-admin-port'] },
    '127.0.0.1',
  );
  // Every flag is checked before anything listens.
  const engineCount = intFlag(flags, 'engines', 5, 1, 500);
  const instances = intFlag(flags, 'instances', 2, 1, 50);
  // One process, several parts: each logs as itself, as it would running alone.
  // On a terminal the start is quiet but for warnings: the banner is what a person reads first; the
  // configured level applies once it is printed. Pipes and files get every line from the start.
  const quiet = humanLogs() && ['info', 'http', 'debug'].includes(settings.logLevel);
  const log = (component: string) =>
    createLogger(component, quiet ? 'warn' : settings.logLevel, { dir: settings.logDir });
  const logger = log('demo');
  await checkPorts(settings.host, [
    ['API_PORT (--api-port)', settings.apiPort],
    ['XDS_PORT (--xds-port)', settings.xdsPort],
    ['ROUTER_PORT (--router-port)', settings.routerPort],
    ['ROUTER_ADMIN_PORT (--router-admin-port)', settings.routerAdminPort],
  ]);

  const fleet = await startFleet(engineCount, instances, settings.host, log('engine'));
  const cp = await listening('XDS_PORT (--xds-port)', settings.xdsPort, () =>
    ControlPlane.start({
      store: new MemoryStore(),
      logger: log('control-plane'),
      host: settings.host,
      xdsPort: settings.xdsPort,
      xds: settings.xds,
      engines: [...fleet.specs, ...settings.engines],
      entries: settings.entries,
      features: settings.features,
    }),
  );
  const api = await listening('API_PORT (--api-port)', settings.apiPort, () =>
    startApi(cp, log('api'), settings.host, settings.apiPort, undefined, { features: settings.features }),
  );
  const router = await listening(
    'ROUTER_PORT or ROUTER_ADMIN_PORT (--router-port, --router-admin-port)',
    settings.routerPort,
    () =>
      new Router({
        controlPlanes: [`${settings.host}:${cp.port}`],
        id: 'demo-router',
        host: settings.host,
        port: settings.routerPort,
        adminPort: settings.routerAdminPort,
        logger: log('router'),
        http2: settings.routerHttp2,
        tracing: { sampleRatio: settings.traceSampleRatio, otlp: otlpFromEnv(process.env, 'nerve-router') },
      }).start(),
  );

  exitOnSignal(logger, async () => {
    await router.stop(3_000);
    await api.close();
    await cp.stop(3_000);
    await fleet.stop(3_000);
  });

  await until(
    async () => (await cp.admin.views.health()).status === 'healthy',
    10_000,
    'engines not all healthy',
  );
  await until(
    () => router.state.engineNames().length >= fleet.specs.length,
    10_000,
    'router has not received every engine',
  );
  const h = settings.host;
  console.log(
    [
      `Nerve demo: ${fleet.specs.length} engines, ${fleet.engines.length} instances`,
      `  REST API       http://${h}:${api.port}/api/v1/nerve/health   (…/engines, …/xds/clients)`,
      `  xDS + admin    ${h}:${cp.port}   grpcurl -plaintext ${h}:${cp.port} list`,
      `  router         ${h}:${router.port}   (header x-nerve-engine: math)`,
      `  router admin   http://${h}:${router.adminPort}/metrics`,
      `nerve demo ready in ${Date.now() - started} ms`,
    ].join('\n'),
  );
  if (quiet && isLogLevel(settings.logLevel)) logLevels.set(settings.logLevel);
}
