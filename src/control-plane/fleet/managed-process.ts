import { spawn } from 'node:child_process';
import { closeOutput, openOutput } from './output-files';
import { processAlive, readProcessStat } from './process-usage';

export interface SpawnSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  readonly stdoutPath: string;
  readonly stderrPath: string;
}

export interface ExitInfo {
  readonly code: number | null;
  readonly signal: string | null;
  /** Why it could not start (ENOENT, EACCES), when it never ran. */
  readonly error?: string;
}

/** How often an adopted process (not our child: no exit event) is checked for life. */
const ADOPTED_POLL_MS = 250;

/**
 * One operating-system process of a managed instance: spawned here, or adopted (left running by a
 * previous leader on this host, watched by pid). Each runs in its own process group, so a signal reaches
 * what it started too (a shell wrapper and its engine), and Ctrl-C on the control plane does not.
 */
export class ManagedProcess {
  readonly exited: Promise<ExitInfo>;
  private done = false;
  private poll?: NodeJS.Timeout;

  private constructor(
    readonly pid: number,
    readonly startTicks: number | undefined,
    readonly adopted: boolean,
    exited: (resolve: (e: ExitInfo) => void) => void,
  ) {
    this.exited = new Promise<ExitInfo>((resolve) =>
      exited((e) => {
        this.done = true;
        clearInterval(this.poll);
        resolve(e);
      }),
    );
  }

  static spawn(spec: SpawnSpec): ManagedProcess {
    const out = openOutput(spec.stdoutPath);
    const err = openOutput(spec.stderrPath);
    try {
      const child = spawn(spec.command, [...spec.args], {
        env: { ...process.env, ...spec.env },
        cwd: spec.cwd,
        stdio: ['ignore', out, err],
        detached: true,
      });
      // Not waited for by the event loop: the control plane may exit and leave it to the next leader.
      child.unref();
      const pid = child.pid ?? -1;
      return new ManagedProcess(
        pid,
        pid > 0 ? readProcessStat(pid)?.startTicks : undefined,
        false,
        (resolve) => {
          child.once('exit', (code, signal) => resolve({ code, signal }));
          child.once('error', (e) => resolve({ code: null, signal: null, error: e.message }));
        },
      );
    } finally {
      closeOutput(out);
      closeOutput(err);
    }
  }

  /** Watches a process this replica did not start; undefined when it is gone (or its pid was reused). */
  static adopt(pid: number, startTicks: number | undefined): ManagedProcess | undefined {
    if (pid <= 0 || !processAlive(pid, startTicks)) return undefined;
    const proc: ManagedProcess = new ManagedProcess(pid, startTicks, true, (resolve) => {
      // Its exit status went to its parent, which is gone: only the fact of its end is known.
      queueMicrotask(() => {
        proc.poll = setInterval(() => {
          if (!processAlive(pid, startTicks))
            resolve({ code: null, signal: null, error: 'exited (adopted: status unknown)' });
        }, ADOPTED_POLL_MS);
        proc.poll.unref();
      });
    });
    return proc;
  }

  get running(): boolean {
    return !this.done;
  }

  /** Signals its process group (falling back to the process alone). */
  signal(sig: NodeJS.Signals): void {
    if (this.done || this.pid <= 0) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      try {
        process.kill(this.pid, sig);
      } catch {
        /* already gone */
      }
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  async terminate(graceMs: number): Promise<ExitInfo> {
    this.signal('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const killed = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.signal('SIGKILL');
        resolve();
      }, graceMs);
    });
    const exit = await Promise.race([this.exited, killed.then(() => this.exited)]);
    clearTimeout(timer);
    return exit;
  }
}
