import { type ChildProcess, type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { haproxyInstalled, startHaproxy } from './haproxy';
import { EchoClients } from './spaced-calls';

const NERVE = join(__dirname, '..', '..', 'bin', 'nerve.js');

export interface Started {
  child: ChildProcessWithoutNullStreams;
  match: RegExpExecArray;
}

/**
 * Runs `command args` and resolves once its stdout matches `ready`; `wrap` runs it under another program
 * (valgrind …), which keeps the pid (it execs the program).
 */
function startAndWait(
  command: string,
  args: string[],
  ready: RegExp,
  wrap: string[],
  env?: NodeJS.ProcessEnv,
): Promise<Started> {
  const child =
    wrap.length > 0
      ? spawn(wrap[0], [...wrap.slice(1), command, ...args], { env })
      : spawn(command, args, { env });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const match = ready.exec(out);
      if (match) resolve({ child, match });
    });
    child.once('exit', (code) => reject(new Error(`${command} ${args[0]} exited with ${code}: ${out}`)));
  });
}

/** A `nerve` command from dist/ in its own process (node flags first); resolves when `ready` is printed. */
export function startNerve(
  args: string[],
  ready: RegExp,
  nodeFlags: string[] = [],
  wrap: string[] = [],
): Promise<Started> {
  return startAndWait(process.execPath, [...nodeFlags, NERVE, ...args], ready, wrap, {
    ...process.env,
    LOG_LEVEL: 'error',
  });
}

/** A plain script of bench/router/ forwarding to `upstream`; it prints "… on <port>" when ready. */
export function startScript(script: string, upstream: string, wrap: string[] = []): Promise<Started> {
  return startAndWait(process.execPath, [join(__dirname, script), upstream], / on (\d+)/, wrap);
}

/**
 * A rollout the fleet runs while a bench counts (BENCH_ROLLOUT): `match` one header rule no bench call
 * matches (the cost of checking it), `mirror` 10 % of calls copied to the canary. The canary is a second
 * echo engine at weight 0, and the rollout's interval outlasts any bench.
 */
const ROLLOUTS: Record<string, object> = {
  match: { match: [{ headers: { 'x-user-group': { exact: 'beta' } } }] },
  mirror: { mirror: { percent: 10 } },
};

/** The echo engine and a control plane routing engine "echo" to it: what every router bench needs. */
export async function startFleet(): Promise<{
  engine: Started;
  cp: Started;
  engineAddress: string;
  xds: string;
}> {
  const engine = await startNerve(['engine', '--type', 'echo', '--port', '0'], /ready on (\S+)/);
  const engineAddress = engine.match[1];
  const rollout = process.env.BENCH_ROLLOUT;
  if (rollout !== undefined && !(rollout in ROLLOUTS))
    throw new Error(`BENCH_ROLLOUT: one of ${Object.keys(ROLLOUTS).join(', ')}`);
  const canary = rollout
    ? await startNerve(['engine', '--type', 'echo', '--port', '0', '--version', 'v2'], /ready on (\S+)/)
    : undefined;
  const config = join(mkdtempSync(join(tmpdir(), 'nerve-bench-')), 'nerve.yaml');
  const canaryInstance = canary ? `, { id: echo-2, address: "${canary.match[1]}", version: v2 }` : '';
  const versions = canary ? `\n    versions: [{ name: v1, weight: 100 }, { name: v2, weight: 0 }]` : '';
  writeFileSync(
    config,
    `host: 127.0.0.1\nengines:\n  - name: echo${versions}\n    instances: [{ id: echo-1, address: "${engineAddress}"${canary ? ', version: v1' : ''} }${canaryInstance}]\n`,
  );
  const cp = await startNerve(
    ['control-plane', '--config', config, '--api-port', '0', '--xds-port', '0'],
    /gRPC on (127\.0\.0\.1:\d+), REST on (\S+)/,
  );
  if (rollout) {
    const res = await fetch(`${cp.match[2]}/engines/echo/rollouts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ version: 'v2', steps: [0], intervalMs: 86_400_000, ...ROLLOUTS[rollout] }),
    });
    if (res.status !== 201) throw new Error(`the bench's rollout was refused: ${await res.text()}`);
    console.log(`rollout: ${rollout} (${JSON.stringify(ROLLOUTS[rollout])})`);
    // The canary goes with the control plane, so every bench's cleanup stops it.
    cp.child.once('exit', () => canary!.child.kill('SIGKILL'));
  }
  return { engine, cp, engineAddress, xds: cp.match[1] };
}

/** A router of the fleet's control plane; its ingress port is `match[1]`. */
export function startRouter(
  xds: string,
  id: string,
  nodeFlags: string[] = [],
  wrap: string[] = [],
): Promise<Started> {
  return startNerve(
    ['router', '--control-plane', xds, '--host', '127.0.0.1', '--port', '0', '--admin-port', '0', '--id', id],
    /ingress on 127\.0\.0\.1:(\d+)/,
    nodeFlags,
    wrap,
  );
}

/** The proxies the per-call benches compare, in front of one fleet's echo engine. */
export interface Lineup {
  router: Started;
  /** The Node byte relay (byte-relay.mjs): the floor of a Node proxy process. */
  relay: Started;
  /** HAProxy, when installed. */
  haproxy?: { child: ChildProcess; port: number };
  /** Kills the proxies and the fleet. */
  stop(): void;
}

/** A fleet, its router (`routerFlags`, `routerWrap`), the byte relay and HAProxy (both under `wrap`). */
async function startLineup(
  routerFlags: string[] = [],
  routerWrap: string[] = [],
  wrap: string[] = [],
): Promise<Lineup> {
  const { engine, cp, engineAddress, xds } = await startFleet();
  const router = await startRouter(xds, 'bench', routerFlags, routerWrap);
  const relay = await startScript('byte-relay.mjs', engineAddress, wrap);
  const haproxy = haproxyInstalled() ? await startHaproxy(engineAddress, wrap) : undefined;
  return {
    router,
    relay,
    haproxy,
    stop() {
      for (const p of [router, relay, cp, engine]) p.child.kill('SIGKILL');
      haproxy?.child.kill('SIGKILL');
    },
  };
}

/**
 * Runs a per-call bench: starts the lineup (as startLineup), hands it and a set of echo clients to `body`,
 * then closes the clients and kills the processes, whatever happened; a failure exits with status 1.
 */
export function benchWithLineup(
  args: Parameters<typeof startLineup>,
  body: (lineup: Lineup, clients: EchoClients) => Promise<void>,
): void {
  const run = async () => {
    const lineup = await startLineup(...args);
    const clients = new EchoClients();
    try {
      await body(lineup, clients);
    } finally {
      clients.close();
      lineup.stop();
    }
  };
  run().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
