// Hosts N demo echo engines in one process (bench helper): prints their addresses as one JSON line.
import { DemoEngine } from '../../src/engines/engine-server';
import { createLogger } from '../../src/observability/logger';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 20);
  const logger = createLogger('engine', 'error');
  const engines = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      new DemoEngine({ type: 'echo', id: `host-${i}`, host: '127.0.0.1', port: 0, logger }).start(),
    ),
  );
  console.log(JSON.stringify(engines.map((e) => e.address)));
  process.on('SIGTERM', () => process.exit(0));
}

void main();
