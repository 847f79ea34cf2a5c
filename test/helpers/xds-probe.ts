/**
 * A proxyless gRPC client process (grpc-js-xds) for tests: reads one JSON command per line on stdin,
 * makes the calls through `xds:///<engine>`, and answers one JSON line per command on stdout.
 * Command: {"id", "engine", "n"?, "sessions"?: string[], "field": "instanceId" | "version"}.
 * Answer: {"id", "results": [field value, or "error:<code>"] in call order}.
 * Its own process because grpc-js-xds keeps timers alive after its channels close.
 */
import * as grpc from '@grpc/grpc-js';
import * as grpcXds from '@grpc/grpc-js-xds';
import { createInterface } from 'node:readline';
import { EngineClient, type InvokeResponse } from '../../gen/nerve/engine/v1/engine';

grpcXds.register();
const bootstrap = process.env.NERVE_XDS_BOOTSTRAP ?? '';
const clients = new Map<string, EngineClient>();

interface Command {
  id: number;
  engine: string;
  n?: number;
  sessions?: string[];
  field: 'instanceId' | 'version';
}

function clientFor(engine: string): EngineClient {
  let c = clients.get(engine);
  if (!c) {
    c = new EngineClient(`xds:///${engine}`, grpc.credentials.createInsecure(), {
      'grpc.TEST_ONLY_DO_NOT_USE_IN_PROD.xds_bootstrap_config': bootstrap,
    });
    clients.set(engine, c);
  }
  return c;
}

function call(client: EngineClient, session: string | undefined, field: Command['field']): Promise<string> {
  const md = new grpc.Metadata();
  if (session) md.set('x-nerve-session', session);
  return new Promise((resolve) =>
    client.invoke(
      { operation: 'echo', payload: Buffer.from('x'), metadata: {} },
      md,
      { deadline: Date.now() + 5000 },
      (err, res?: InvokeResponse) => resolve(err ? `error:${grpc.status[err.code]}` : res![field]),
    ),
  );
}

async function run(cmd: Command): Promise<string[]> {
  const client = clientFor(cmd.engine);
  const sessions: (string | undefined)[] =
    cmd.sessions ?? Array.from({ length: cmd.n ?? 1 }, () => undefined);
  const results: string[] = [];
  for (let i = 0; i < sessions.length; i += 20) {
    results.push(...(await Promise.all(sessions.slice(i, i + 20).map((s) => call(client, s, cmd.field)))));
  }
  return results;
}

createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line) as Command;
  void run(cmd).then((results) => process.stdout.write(`${JSON.stringify({ id: cmd.id, results })}\n`));
});
process.stdout.write('{"ready":true}\n');
