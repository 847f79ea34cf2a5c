import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SettingsError } from '../config/settings';
import { commandHelp } from './common/flags';
import { UsageError } from './common/options';

/** Each command loads only its own modules: a router process never loads the control plane. */
const COMMANDS: Record<string, { run: (args: string[]) => Promise<void>; summary: string }> = {
  demo: {
    run: async (a) => (await import('./commands/demo')).demoCommand(a),
    summary: 'Control plane, REST API, one router and a demo engine fleet in one process, on loopback.',
  },
  'control-plane': {
    run: async (a) => (await import('./commands/control-plane')).controlPlaneCommand(a),
    summary: 'The control plane: xDS (ADS), admin gRPC, reflection and health on XDS_PORT, REST on API_PORT.',
  },
  router: {
    run: async (a) => (await import('./commands/router')).routerCommand(a),
    summary: 'A data-plane router: routes gRPC calls to engine instances on what the control planes push.',
  },
  config: {
    run: async (a) => (await import('./commands/config')).configCommand(a),
    summary: 'Backup, restore and audit: export, import (--dry-run) and history of the configuration.',
  },
  alerts: {
    run: async (a) => (await import('./commands/alerts')).alertsCommand(a),
    summary:
      'Alertmanager configurations in and out: import-alertmanager FILE (--dry-run), export-alertmanager.',
  },
  load: {
    run: async (a) => (await import('./commands/load')).loadCommand(a),
    summary: 'Load test: gRPC calls at a constant rate (open loop) or concurrency, HDR percentiles.',
  },
  engine: {
    run: async (a) => (await import('./commands/engine')).engineCommand(a),
    summary: 'One demo engine instance (nerve.engine.v1.Engine and grpc.health.v1.Health).',
  },
};

function usage(): string {
  return [
    'usage: nerve <command> [flags]      nerve <command> --help      nerve --version',
    '',
    ...Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(14)} ${c.summary}`),
    '',
    'Ports also come from API_PORT, XDS_PORT, ROUTER_PORT, ROUTER_ADMIN_PORT; logs from LOG_LEVEL.',
  ].join('\n');
}

/** The package's version (package.json sits two folders above dist/src/cli and src/cli alike). */
export function version(): string {
  for (const up of ['../..', '../../..']) {
    try {
      return (JSON.parse(readFileSync(join(__dirname, up, 'package.json'), 'utf8')) as { version: string })
        .version;
    } catch {
      // not there: one more level up
    }
  }
  return 'unknown';
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  if (name === '--version' || name === '-v' || name === 'version') {
    console.log(`nerve ${version()} (node ${process.version})`);
    return;
  }
  const command = name === undefined ? undefined : COMMANDS[name];
  if (!command) {
    const help = name === undefined || name === 'help' || name === '--help' || name === '-h';
    (help ? console.log : console.error)(help ? usage() : `nerve: unknown command "${name}"\n\n${usage()}`);
    if (!help) process.exitCode = 2;
    return;
  }
  if (args.includes('--help') || args.includes('-h')) {
    console.log(commandHelp(name!, command.summary));
    return;
  }
  try {
    await command.run(args);
  } catch (err) {
    const expected = err instanceof UsageError || err instanceof SettingsError;
    // One line naming the cause; the stack only when asked for (NERVE_DEBUG=1).
    const detail = process.env.NERVE_DEBUG ? (err as Error).stack : (err as Error).message;
    console.error(`nerve ${name}: ${err instanceof Error ? detail : String(err)}`);
    if (expected) console.error(`(nerve ${name} --help lists every flag)`);
    process.exit(expected ? 2 : 1);
  }
}
