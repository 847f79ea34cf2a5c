import { SettingsError } from '../config/settings';
import { UsageError } from './options';

/** Each command loads only its own modules: a router process never loads the control plane. */
const COMMANDS: Record<string, { run: (args: string[]) => Promise<void>; help: string }> = {
  demo: {
    run: async (a) => (await import('./commands/demo')).demoCommand(a),
    help: 'control plane + router + demo engines [--engines N --instances M --api-port --xds-port --router-port --router-admin-port]',
  },
  'control-plane': {
    run: async (a) => (await import('./commands/control-plane')).controlPlaneCommand(a),
    help: 'the control plane [--config file.yaml --host --api-port --xds-port]',
  },
  router: {
    run: async (a) => (await import('./commands/router')).routerCommand(a),
    help: 'a data-plane router [--control-plane host:port[,…] --port --admin-port --id]',
  },
  engine: {
    run: async (a) => (await import('./commands/engine')).engineCommand(a),
    help: 'a demo engine instance [--type --name --version --port --control-plane host:port --fault-delay-ms --fault-error-rate %]',
  },
};

function usage(): string {
  return [
    'usage: nerve <command> [flags]',
    '',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(14)} ${c.help}`),
    '',
    'Ports also come from API_PORT, XDS_PORT, ROUTER_PORT, ROUTER_ADMIN_PORT; logs from LOG_LEVEL.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    const help = name === undefined || name === 'help' || name === '--help' || name === '-h';
    (help ? console.log : console.error)(help ? usage() : `nerve: unknown command "${name}"\n\n${usage()}`);
    if (!help) process.exitCode = 2;
    return;
  }
  try {
    await command.run(args);
  } catch (err) {
    const expected = err instanceof UsageError || err instanceof SettingsError;
    console.error(`nerve ${name}: ${expected ? (err as Error).message : (err as Error).stack}`);
    process.exit(expected ? 2 : 1);
  }
}
