import { type ChildProcess, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { waitFor } from './wait';

/**
 * A server of the Prometheus family (Prometheus, Alertmanager) started from `command args`, ready when
 * its `/-/ready` answers 200 at `url`; `stop` ends it (SIGTERM) and removes `dir`. An early exit fails
 * the wait with the tail of its stderr.
 */
export async function startReadyDaemon(
  what: string,
  command: string,
  args: string[],
  url: string,
  dir: string,
): Promise<{ stop(): Promise<void> }> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4_000)));
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`${what} exited: ${err}`);
      return fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
    },
    `${what} to be ready`,
    20_000,
  );
  return {
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
