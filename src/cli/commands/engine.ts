import { randomUUID } from 'node:crypto';
import { ENGINE_TYPES } from '../../engines/computations';
import { DemoEngine } from '../../engines/engine-server';
import { registerEngine } from '../../engines/registration';
import { createLogger } from '../../observability/logger';
import { flagNames } from '../flags';
import { exitOnSignal } from '../lifecycle';
import { listening } from '../listen';
import { intFlag, parseFlags, UsageError } from '../options';

export async function engineCommand(args: string[]): Promise<void> {
  const flags = parseFlags(args, flagNames('engine'));
  const logger = createLogger(
    'engine',
    typeof flags['log-level'] === 'string' ? flags['log-level'] : process.env.LOG_LEVEL,
  );
  // Every flag is checked before anything listens.
  const type = typeof flags.type === 'string' ? flags.type : 'echo';
  if (!ENGINE_TYPES.has(type))
    throw new UsageError(
      `--type ${JSON.stringify(type.slice(0, 64))} is not a demo engine type; known: ${[...ENGINE_TYPES.keys()].join(', ')}`,
    );
  const name = typeof flags.name === 'string' ? flags.name : type;
  // PORT: how a supervisor (the process driver) hands an instance its port.
  const port = intFlag({ port: flags.port ?? process.env.PORT }, 'port', 0, 0, 65535);
  const faults = {
    delayMs: intFlag(flags, 'fault-delay-ms', 0, 0, 600_000),
    errorRate: intFlag(flags, 'fault-error-rate', 0, 0, 100) / 100,
  };
  const engine = await listening('--port', port, () =>
    new DemoEngine({
      type,
      name,
      version: typeof flags.version === 'string' ? flags.version : 'v1',
      id: typeof flags.id === 'string' ? flags.id : `${name}-${randomUUID().slice(0, 8)}`,
      host: typeof flags.host === 'string' ? flags.host : '127.0.0.1',
      port,
      logger,
      tls: engineTls(flags),
    }).start(),
  );
  engine.setFaults(faults);
  const advertised = `${typeof flags['advertise-host'] === 'string' ? flags['advertise-host'] : '127.0.0.1'}:${engine.port}`;
  let leave: (() => Promise<void>) | undefined;
  if (typeof flags['control-plane'] === 'string') {
    const registration = await registerEngine(engine, flags['control-plane'], advertised, {
      ttlMs: intFlag(flags, 'lease-ttl-ms', 0, 0, 600_000),
      logger,
      token: typeof flags.token === 'string' ? flags.token : process.env.NERVE_TOKEN || undefined,
    });
    leave = () => registration.leave();
    logger.info('registered with the control plane', {
      controlPlane: flags['control-plane'],
      engine: name,
      id: engine.id,
    });
  }
  console.log(`engine ${name} (type ${type}) instance ${engine.id} ready on ${advertised}`);
  exitOnSignal(logger, async () => {
    if (leave)
      await leave().catch((err: unknown) => logger.warn('could not deregister', { error: String(err) }));
    await engine.stop();
  });
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
