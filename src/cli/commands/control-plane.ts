import { hostname } from 'node:os';
import { startApi } from '../../api/server';
import { ControlPlane } from '../../control-plane/control-plane';
import { createLogger } from '../../observability/logger';
import { OtlpExporter, otlpFromEnv } from '../../observability/otlp-exporter';
import type { ConfigStore } from '../../store/config-store';
import { MemoryStore } from '../../store/memory-store';
import { RedisStore } from '../../store/redis/redis-store';
import { flagNames } from '../common/flags';
import { exitOnSignal } from '../common/lifecycle';
import { listening } from '../common/listen';
import { parseFlags, settingsFor } from '../common/options';
import { authByDefault, warnIfOpen } from '../common/security-notes';

export async function controlPlaneCommand(args: string[]): Promise<void> {
  const flags = parseFlags(args, flagNames('control-plane'));
  const resolved = settingsFor(flags, '0.0.0.0');
  const settings = { ...resolved, security: authByDefault(resolved.security, resolved.host) };
  const logger = createLogger('control-plane', settings.logLevel, { dir: settings.logDir });
  warnIfOpen(settings.security.enableAuth, settings.host, logger);
  const replicaId = settings.replicaId ?? `${hostname()}-${process.pid}`;
  const store: ConfigStore = settings.redis
    ? new RedisStore({
        target: settings.redis,
        minReplicas: settings.redisMinReplicas,
        prefix: settings.redisPrefix,
        onError: (message, err) => logger.error(message, { error: String(err) }),
      })
    : new MemoryStore();
  const lease = settings.leaderLeaseMs;
  const cp = await listening('XDS_PORT (--xds-port)', settings.xdsPort, () =>
    ControlPlane.start({
      store,
      logger,
      host: settings.host,
      xdsPort: settings.xdsPort,
      xds: settings.xds,
      engines: settings.engines,
      entries: settings.entries,
      replicaId,
      runDir: settings.runDir,
      features: settings.features,
      tls: settings.security.tls,
      callLimits: {
        perAddressPerMinute: settings.security.rateLimitPerMinute,
        perPrincipalPerMinute: settings.security.rateLimitPerMinute,
        redis: settings.redis,
        prefix: settings.redisPrefix,
      },
      auth: {
        enabled: settings.security.enableAuth,
        jwt: settings.security.jwt,
        apiKeys: settings.security.apiKeys,
      },
      lease: {
        ttlMs: lease,
        renewMs: Math.round(lease / 3),
        retryMs: Math.min(2_000, Math.round(lease / 5)),
      },
    }),
  ).catch(async (err: unknown) => {
    await store.close();
    throw err;
  });
  const otlp = otlpFromEnv(process.env, 'nerve-control-plane');
  const exporter =
    otlp && new OtlpExporter({ ...otlp, attributes: { 'service.instance.id': replicaId } }, logger);
  const api = await listening('API_PORT (--api-port)', settings.apiPort, () =>
    startApi(cp, logger, settings.host, settings.apiPort, undefined, {
      corsOrigins: settings.security.corsOrigins,
      tls: settings.security.tls,
      features: settings.features,
      onSpan: exporter && ((span) => exporter.add(span)),
    }),
  ).catch(async (err: unknown) => {
    await cp.stop();
    await store.close();
    throw err;
  });
  // Before "ready": whoever reads that line may signal at once.
  exitOnSignal(logger, async () => {
    await api.close();
    await cp.stop();
    await store.close();
    await exporter?.flush();
  });
  const status = store.status();
  console.log(
    `control plane ${replicaId} ready (store ${status.backend}: ${status.state}${status.reason ? `, ${status.reason}` : ''}): xDS/admin gRPC on ${settings.host}:${cp.port}, REST on ${settings.security.tls ? 'https' : 'http'}://${settings.host}:${api.port}/api/v1/nerve`,
  );
}
