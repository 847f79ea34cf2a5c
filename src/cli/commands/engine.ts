import { randomUUID } from 'node:crypto';
import { DemoEngine } from '../../engines/engine-server';
import { registerEngine } from '../../engines/registration';
import { createLogger } from '../../observability/logger';
import { exitOnSignal } from '../lifecycle';
import { intFlag, parseFlags } from '../options';

export async function engineCommand(args: string[]): Promise<void> {
  const flags = parseFlags(args, [
    'type',
    'name',
    'version',
    'id',
    'host',
    'advertise-host',
    'port',
    'control-plane',
    'log-level',
    'fault-delay-ms',
    'fault-error-rate',
  ]);
  const logger = createLogger(
    'engine',
    typeof flags['log-level'] === 'string' ? flags['log-level'] : process.env.LOG_LEVEL,
  );
  const type = typeof flags.type === 'string' ? flags.type : 'echo';
  const name = typeof flags.name === 'string' ? flags.name : type;
  const engine = await new DemoEngine({
    type,
    name,
    version: typeof flags.version === 'string' ? flags.version : 'v1',
    id: typeof flags.id === 'string' ? flags.id : `${name}-${randomUUID().slice(0, 8)}`,
    host: typeof flags.host === 'string' ? flags.host : '127.0.0.1',
    port: intFlag(flags, 'port', 0, 0, 65535),
    logger,
  }).start();
  engine.setFaults({
    delayMs: intFlag(flags, 'fault-delay-ms', 0, 0, 600_000),
    errorRate: intFlag(flags, 'fault-error-rate', 0, 0, 100) / 100,
  });
  const advertised = `${typeof flags['advertise-host'] === 'string' ? flags['advertise-host'] : '127.0.0.1'}:${engine.port}`;
  let leave: (() => Promise<void>) | undefined;
  if (typeof flags['control-plane'] === 'string') {
    leave = await registerEngine(engine, flags['control-plane'], advertised);
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
