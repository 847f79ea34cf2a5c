import { randomUUID } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { ENGINE_TYPES } from '../../engines/computations';
import { DemoEngine } from '../../engines/engine-server';
import { registerEngine } from '../../engines/registration';
import { createLogger } from '../../observability/logger';
import { flagNames } from '../common/flags';
import { exitOnSignal } from '../common/lifecycle';
import { listening } from '../common/listen';
import { intFlag, parseFlags, UsageError } from '../common/options';

export async function engineCommand(args: string[]): Promise<void> {
  const flags = parseFlags(args, flagNames('engine'));
  /** A flag, else its variable (containers set variables: ENGINE_TYPE, CONTROL_PLANE, ADVERTISE_HOST, …). */
  const get = (flag: string, env: string): string | undefined =>
    typeof flags[flag] === 'string' ? (flags[flag] as string) : process.env[env] || undefined;
  const logger = createLogger('engine', get('log-level', 'LOG_LEVEL'), {
    dir: process.env.LOG_DIR || undefined,
  });
  // Every flag is checked before anything listens.
  const type = get('type', 'ENGINE_TYPE') ?? 'echo';
  if (!ENGINE_TYPES.has(type))
    throw new UsageError(
      `--type ${JSON.stringify(type.slice(0, 64))} is not a demo engine type; known: ${[...ENGINE_TYPES.keys()].join(', ')}`,
    );
  const name = get('name', 'ENGINE_NAME') ?? type;
  // PORT: how a supervisor (the process driver) hands an instance its port.
  const port = intFlag({ port: flags.port ?? process.env.PORT }, 'port', 0, 0, 65535);
  const faults = {
    delayMs: intFlag(flags, 'fault-delay-ms', 0, 0, 600_000),
    errorRate: intFlag(flags, 'fault-error-rate', 0, 0, 100) / 100,
  };
  const host = get('host', 'HOST') ?? '127.0.0.1';
  const controlPlane = get('control-plane', 'CONTROL_PLANE');
  const engine = await listening('--port', port, () =>
    new DemoEngine({
      type,
      name,
      version: get('version', 'ENGINE_VERSION') ?? 'v1',
      id: typeof flags.id === 'string' ? flags.id : `${name}-${randomUUID().slice(0, 8)}`,
      host,
      port,
      logger,
      tls: engineTls(flags),
    }).start(),
  );
  engine.setFaults(faults);
  const advertised = `${get('advertise-host', 'ADVERTISE_HOST') ?? advertisedHost(host)}:${engine.port}`;
  let leave: (() => Promise<void>) | undefined;
  if (controlPlane) {
    const registration = await registerEngine(engine, controlPlane, advertised, {
      ttlMs: intFlag(flags, 'lease-ttl-ms', 0, 0, 600_000),
      logger,
      token: typeof flags.token === 'string' ? flags.token : process.env.NERVE_TOKEN || undefined,
      // With a CA, the control plane is reached over TLS too (mTLS with this engine's own pair).
      tls: registrationTls(flags),
    });
    leave = () => registration.leave();
    logger.info('registered with the control plane', {
      controlPlane,
      engine: name,
      id: engine.id,
    });
  }
  // Before "ready": whoever reads that line may signal at once.
  exitOnSignal(logger, async () => {
    if (leave)
      await leave().catch((err: unknown) => logger.warn('could not deregister', { error: String(err) }));
    await engine.stop();
  });
  console.log(`engine ${name} (type ${type}) instance ${engine.id} ready on ${advertised}`);
}

/**
 * Where others reach an engine listening on `host`: the host itself, or for a wildcard (0.0.0.0, ::) the
 * first external IPv4 address (a container's own), else loopback.
 */
function advertisedHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::') return host;
  for (const addresses of Object.values(networkInterfaces()))
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  return '127.0.0.1';
}

/** --tls-cert-file and --tls-key-file (and --tls-ca-file for mTLS), or their variables: serve over TLS. */
function engineTls(flags: Record<string, string | boolean | undefined>) {
  const get = (flag: string, env: string) =>
    typeof flags[flag] === 'string' ? (flags[flag] as string) : process.env[env] || undefined;
  const cert = get('tls-cert-file', 'TLS_CERT_FILE');
  const key = get('tls-key-file', 'TLS_KEY_FILE');
  if (!cert || !key) return undefined;
  return { cert, key, ca: get('tls-ca-file', 'TLS_CA_FILE') };
}

/** The CA of TLS_CA_FILE (--tls-ca-file) to trust the control plane by, with this engine's pair when set. */
function registrationTls(flags: Record<string, string | boolean | undefined>) {
  const get = (flag: string, env: string) =>
    typeof flags[flag] === 'string' ? (flags[flag] as string) : process.env[env] || undefined;
  const ca = get('tls-ca-file', 'TLS_CA_FILE');
  if (!ca) return undefined;
  const cert = get('tls-cert-file', 'TLS_CERT_FILE');
  const key = get('tls-key-file', 'TLS_KEY_FILE');
  return { ca, ...(cert && key && { cert, key }) };
}
