import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { freePort } from './ports';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './wait';

/** True when this machine has redis-server (CI installs Debian's); tests then spawn their own. */
export function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** SIGKILL, as a crash: what was not yet fsynced is gone (appendfsync always: nothing acknowledged). */
  kill(): Promise<void>;
  /** Starts again on the same port and data directory. */
  restart(): Promise<void>;
  /** Kills it, deletes its data, and starts it again on the same port: a Redis that lost everything. */
  restartEmpty(): Promise<void>;
  /** SIGSTOP: connections stay open and nothing answers (a hung Redis); `resume` is SIGCONT. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

/**
 * A redis-server of the test's own on a free loopback port, with an append-only file fsynced on every
 * write, so a restart keeps every acknowledged write (as a production Redis for Nerve should be run).
 */
export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'nerve-redis-'));
  let child: ChildProcess | undefined;
  const launch = async () => {
    const proc = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--appendfsync',
        'always',
        '--save',
        '',
        '--protected-mode',
        'no',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child = proc;
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(
      () => /Ready to accept connections/.test(out) || proc.exitCode !== null,
      'redis-server to start',
      10_000,
    );
    if (proc.exitCode !== null) throw new Error(`redis-server exited: ${out}`);
  };
  const halt = async (signal: NodeJS.Signals) => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill(signal);
    await exited;
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill: () => halt('SIGKILL'),
    restart: launch,
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async restartEmpty() {
      await halt('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir);
      await launch();
    },
    async stop() {
      await halt('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
